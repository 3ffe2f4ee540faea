"""A batch of events tallied in memory: what it writes and how far each day moves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.insight import domain
from services.insight.tally import TABLES, Tally
from tests.unit.test_insight_domain import _incident

TZ = "Asia/Shanghai"
DAY = dt.date(2026, 11, 1)


def _empty() -> Tally:
    return Tally(known={t: {} for t in TABLES})


def _moves(tally: Tally) -> dict[tuple[str, str], Decimal]:
    return {(r["measure"], r["key"]): r["value"] for r in tally.daily()}


def test_a_report_in_a_batch_twice_counts_once_and_a_stored_one_not_again() -> None:
    row = {"id": "r1", "jurisdiction": "changchun", "day": DAY, "region": "chaoyang",
           "source": "agency", "category": "wage_arrears"}  # fmt: skip
    tally = _empty()
    tally.report(row)
    tally.report(row)
    assert list(tally.rows["reports"]) == ["r1"]
    assert _moves(tally)[("reports", "")] == 1
    stored = Tally(known={t: {} for t in TABLES} | {"reports": {"r1": {"id": "r1"}}})
    stored.report(row)
    assert stored.rows["reports"] == {} and stored.daily() == []


def test_an_incident_raised_twice_in_a_batch_moves_its_day_once_to_its_highest_level() -> None:
    tally = _empty()
    for rank, level in ((1, "blue"), (2, "yellow"), (3, "red")):
        tally.incident(_incident(rank, level), None, TZ)
    moves = _moves(tally)
    assert moves[("incidents.level", "red")] == 1
    assert ("incidents.level", "blue") not in moves  # +1 then -1: no row
    assert tally.rows["incidents"]["i"]["top_level"] == "red"
    assert tally.monthly()[0]["month"] == "2026-11"


def test_an_incident_stored_before_the_batch_moves_by_the_difference() -> None:
    stored = domain.merged_incident(None, _incident(2, "yellow"), None, TZ)
    tally = Tally(known={t: {} for t in TABLES} | {"incidents": {"i": stored}})
    tally.incident(_incident(3, "red"), None, TZ)
    assert _moves(tally) == {
        ("incidents.level", "yellow"): Decimal(-1),
        ("incidents.level", "red"): Decimal(1),
    }


def _notification(**change: Any) -> dict[str, Any]:
    due = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    return {"id": "n1", "jurisdiction": "changchun", "incident_id": "i", "body_id": "b",
            "kind": "responsible", "due_at": due, "due_day": DAY, "status": "pending",
            "acknowledged_at": None, "closed_at": None} | change  # fmt: skip


def test_a_notification_keeps_its_acknowledgement_and_moves_with_its_due_day() -> None:
    tally = _empty()
    tally.notification(_notification())
    acknowledged = dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC)
    tally.notification(_notification(acknowledged_at=acknowledged, status="acknowledged"))
    tally.notification(_notification(status="closed"))  # a later event without it
    assert tally.rows["notifications"]["n1"]["acknowledged_at"] == acknowledged
    assert _moves(tally) == {
        ("notifications.due", "b"): Decimal(1),
        ("notifications.on_time", "b"): Decimal(1),
    }
    later = dt.datetime(2026, 11, 3, 4, tzinfo=dt.UTC)
    tally.notification(_notification(due_at=later, due_day=dt.date(2026, 11, 3)))
    by_day = {(r["day"], r["measure"]) for r in tally.daily()}
    assert by_day == {
        (dt.date(2026, 11, 3), "notifications.due"),
        (dt.date(2026, 11, 3), "notifications.on_time"),
    }

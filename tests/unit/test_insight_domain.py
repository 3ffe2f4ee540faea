"""Insight's pure rules: periods, what an incident counts for, numbers as people read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.insight import domain
from services.insight.domain import BadPeriod, parse_period


def test_periods() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.end, q4.label, q4.kind) == (
        dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026年第四季度", "quarter",
    )  # fmt: skip
    assert q4.previous().code == "2026-Q3" and q4.year_before().code == "2025-Q4"
    assert parse_period("2026-Q1").previous().code == "2025-Q4"
    h2 = parse_period("2026-H2")
    assert (h2.start, h2.end, h2.label) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 12, 31),
        "2026年下半年",
    )
    assert parse_period("2026-H1").previous().code == "2025-H2"
    feb = parse_period("2028-02")
    assert (feb.end, feb.label, feb.previous().code) == (
        dt.date(2028, 2, 29),
        "2028年2月",
        "2028-01",
    )
    assert parse_period("2026-01").previous().code == "2025-12"
    for bad in ("2026-Q0", "2026-Q5", "2026-H3", "2026-00", "2026-13", "2026", "2026-q4"):
        with pytest.raises(BadPeriod):
            parse_period(bad)


def test_ranges_and_months() -> None:
    domain.check_range(dt.date(2016, 1, 2), dt.date(2026, 1, 1))  # ten years exactly
    with pytest.raises(BadPeriod):
        domain.check_range(dt.date(2016, 1, 1), dt.date(2026, 1, 1))
    with pytest.raises(BadPeriod):
        domain.check_range(dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    assert domain.months_between(dt.date(2025, 11, 30), dt.date(2026, 1, 1)) == [
        "2025-11", "2025-12", "2026-01",
    ]  # fmt: skip


def test_a_day_is_a_day_in_the_jurisdiction() -> None:
    late_evening = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)  # 00:30 on 1 January there
    assert domain.local_day(late_evening, "Asia/Shanghai") == dt.date(2027, 1, 1)


def _incident(rank: int, level: str | None) -> SimpleNamespace:
    return SimpleNamespace(
        id="i", jurisdiction="changchun", kind="single", region="chaoyang", category="wage_arrears",
        enterprise=SimpleNamespace(industry="建筑业", name="某公司"),
        level=level, level_label=level,
        level_rank=rank, workers_involved=30, amount_yuan=Decimal(100), status="open",
        routed_to=None, opened_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )  # fmt: skip


def test_an_incident_counts_at_its_highest_level_and_once_lowered_as_lifted() -> None:
    tz = "Asia/Shanghai"
    first = domain.merged_incident(None, _incident(2, "yellow"), None, tz)
    raised = domain.merged_incident(first, _incident(3, "red"), None, tz)
    lowered_by = SimpleNamespace(
        lifted=False, by_assessment=True, level_rank=1, previous_level_rank=3
    )
    lowered = domain.merged_incident(raised, _incident(1, "blue"), lowered_by, tz)
    assert (lowered["top_level"], lowered["level"], lowered["lifted"]) == ("red", "blue", True)
    move = domain.difference(domain.incident_counts(first), domain.incident_counts(lowered))
    assert move == {
        ("incidents.level", "yellow"): Decimal(-1),
        ("incidents.level", "red"): Decimal(1),
        ("incidents.lifted", ""): Decimal(1),
    }
    cluster = dict(first, kind="cluster")
    assert domain.incident_counts(cluster) == {("clusters", ""): Decimal(1)}


def test_numbers_as_people_read_them() -> None:
    assert domain.wan_yuan(Decimal(5000000)) == "500.00万元"
    assert domain.chinese_date(dt.date(2026, 12, 2)) == "2026年12月2日"
    assert domain.change(12, 8) == "增4（+50.0%）"
    assert domain.change(6, 8) == "减2（-25.0%）"
    assert domain.change(3, 0) == "增3（上期为0）"
    assert domain.change(5, 5) == "持平"
    assert domain.change(83.3, 86.8, points=True) == "降3.5个百分点"
    assert domain.yuan_string(Decimal("6000000.00")) == "6000000"
    assert domain.yuan_string(Decimal("12.5")) == "12.50"
    assert domain.median_hours([dt.timedelta(hours=1), dt.timedelta(hours=3)]) == 2.0
    assert domain.rate(0, 0) is None


def test_what_a_notification_counts_for() -> None:
    due = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    base = {"kind": "responsible", "due_at": due, "acknowledged_at": None, "status": "pending",
            "closed_at": None, "body_id": "b"}  # fmt: skip

    def counts(**change: object) -> set[str]:
        return {m for m, _ in domain.notification_counts(base | change)}

    assert counts() == {"notifications.due", "notifications.unacked"}
    assert counts(acknowledged_at=due) == {"notifications.due", "notifications.on_time"}
    assert counts(acknowledged_at=due + hour) == {"notifications.due", "notifications.late"}
    assert counts(kind="copy", due_at=None) == set()
    assert counts(status="closed", closed_at=due - hour) == set()  # closed before due: owes nothing
    assert counts(status="closed", closed_at=due + hour) == {
        "notifications.due",
        "notifications.unacked",
    }


def test_whole_months_inside_a_range() -> None:
    day = dt.date
    assert domain.whole_months(day(2026, 10, 1), day(2026, 12, 31)) == (
        day(2026, 10, 1),
        day(2026, 12, 31),
    )
    assert domain.whole_months(day(2026, 10, 23), day(2026, 12, 4)) == (
        day(2026, 11, 1),
        day(2026, 11, 30),
    )
    assert domain.whole_months(day(2026, 11, 2), day(2026, 11, 30)) is None
    assert domain.whole_months(day(2024, 2, 1), day(2024, 2, 29)) == (
        day(2024, 2, 1),
        day(2024, 2, 29),
    )

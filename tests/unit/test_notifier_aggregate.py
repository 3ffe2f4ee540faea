"""The `Notification` aggregate: its methods change its state and say what happened."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notifier.domain import (
    ClosedReason,
    Kind,
    NotAcknowledgeable,
    Notice,
    Notification,
    Status,
    Via,
    replaced_by,
)

ISSUED = dt.datetime(2026, 11, 21, 1, 31, tzinfo=dt.UTC)
SIX_HOURS = dt.timedelta(hours=6)
CHAIN = ["xuanen.county.tripartite", "xuanen.prefecture.tripartite"]


def notice(rank: int = 1) -> Notice:
    return Notice(
        incident_id="i-1",
        jurisdiction="xuanen",
        level="level1",
        level_label="一级预警",
        level_rank=rank,
        policy="xuanen-2021",
        issued_at=ISSUED,
        limit_seconds=SIX_HOURS.total_seconds(),
        summary={"enterprise": "宣恩某公司"},
        regions=["zhushan"],
        event_key="xuanen:宣恩某",
        drill=False,
    )


def made(kind: Kind = Kind.RESPONSIBLE) -> Notification:
    return Notification.issue(
        notice(),
        warning_id="w-1",
        body_id="xuanen.zhushan.tripartite",
        kind=kind,
        chain=CHAIN,
        fractions=(0.5, 0.9),
        now=ISSUED,
    )


def test_a_responsible_notification_is_due_after_the_limit_and_reminds_half_way() -> None:
    n = made()
    assert n.status is Status.PENDING and n.due_at == ISSUED + SIX_HOURS
    assert n.next_reminder_at == ISSUED + SIX_HOURS / 2
    assert n.escalation_chain == CHAIN


def test_a_copy_is_closed_as_it_is_made_and_owes_nothing() -> None:
    n = made(Kind.COPY)
    assert (n.status, n.closed_reason, n.closed_at) == (Status.CLOSED, ClosedReason.COPY, ISSUED)
    assert n.due_at is None and n.next_reminder_at is None and n.escalation_chain == []
    assert n.fire_deadline(ISSUED + 2 * SIX_HOURS, fractions=()) is None
    assert n.remind(ISSUED + 2 * SIX_HOURS) is False
    with pytest.raises(NotAcknowledgeable):
        n.acknowledge(at=ISSUED, by="k", note=None, via=Via.API)


def test_only_a_pending_notification_closes() -> None:
    n = made()
    assert n.close(ClosedReason.SUPERSEDED, at=ISSUED) is True
    assert n.close(ClosedReason.LIFTED, at=ISSUED) is False
    assert n.closed_reason is ClosedReason.SUPERSEDED
    acked = made()
    acked.acknowledge(at=ISSUED, by="k", note=None, via=Via.API)
    assert acked.close(ClosedReason.SUPERSEDED, at=ISSUED) is False
    assert acked.status is Status.ACKNOWLEDGED


def test_a_closed_notification_never_escalates_nor_reminds() -> None:
    n = made()
    n.close(ClosedReason.SUPERSEDED, at=ISSUED)
    assert n.remind(ISSUED + SIX_HOURS / 2) is False
    assert n.fire_deadline(ISSUED + SIX_HOURS, fractions=(0.5,)) is None
    assert n.status is Status.CLOSED


def test_a_deadline_passed_marks_overdue_and_escalates_one_body_up() -> None:
    n = made()
    later = ISSUED + SIX_HOURS + dt.timedelta(minutes=1)
    overdue = n.fire_deadline(later, fractions=(0.5,))
    assert overdue is not None and n.status is Status.OVERDUE
    assert overdue.late_report.due_at == ISSUED + SIX_HOURS
    assert overdue.late_report.acknowledged_at is None
    up = overdue.escalation
    assert up is not None
    assert (up.body_id, up.escalated_from, up.escalation_chain) == (CHAIN[0], n.id, CHAIN[1:])
    assert up.issued_at == later and up.due_at == later + SIX_HOURS
    assert up.summary["escalated_from_body"] == "xuanen.zhushan.tripartite"
    assert n.fire_deadline(later, fractions=()) is None  # once


def test_an_acknowledgement_records_who_how_and_the_note() -> None:
    n = made()
    done = n.acknowledge(
        at=ISSUED, by="值班员 (xuanen.zhushan.tripartite)", note="收到", via=Via.LINK
    )
    assert done is not None and done.late is False and done.late_report is None
    assert (n.acknowledged_by, n.ack_note, n.ack_via) == (
        "值班员 (xuanen.zhushan.tripartite)",
        "收到",
        Via.LINK,
    )
    assert n.acknowledge(at=ISSUED, by="other", note="again", via=Via.API) is None
    assert n.ack_note == "收到"


def test_a_late_acknowledgement_answers_the_clocks_late_report_or_makes_one() -> None:
    late = ISSUED + SIX_HOURS + dt.timedelta(seconds=1)
    unnoticed = made()
    done = unnoticed.acknowledge(at=late, by="k", note=None, via=Via.API)
    assert done is not None and done.late and not done.late_report_exists
    noticed = made()
    noticed.fire_deadline(late, fractions=())
    done = noticed.acknowledge(at=late, by="k", note=None, via=Via.API)
    assert done is not None and done.late and done.late_report_exists


@pytest.mark.parametrize(
    ("notice_rank", "new_rank", "previous_rank", "by_assessment", "reason"),
    [
        (1, 2, 1, False, ClosedReason.SUPERSEDED),  # blue → yellow
        (2, 3, 2, False, ClosedReason.SUPERSEDED),  # yellow → red
        (1, 3, 2, False, ClosedReason.SUPERSEDED),  # the blue still pending under red
        (3, 1, 3, True, ClosedReason.LIFTED),  # red lowered to blue by assessment
        (3, 0, 3, True, ClosedReason.LIFTED),  # lifted
        (1, 3, 1, True, ClosedReason.SUPERSEDED),  # raised by assessment
        (2, 2, 0, False, None),  # the same level again: the notice stands
        (1, 2, 0, False, ClosedReason.SUPERSEDED),  # no previous rank said: its own stands in
        (3, 1, 0, True, ClosedReason.LIFTED),
    ],
)
def test_what_a_new_warning_does_to_a_pending_notification(
    notice_rank: int,
    new_rank: int,
    previous_rank: int,
    by_assessment: bool,
    reason: ClosedReason | None,
) -> None:
    got = replaced_by(
        notice_rank, new_rank=new_rank, previous_rank=previous_rank, by_assessment=by_assessment
    )
    assert got is reason

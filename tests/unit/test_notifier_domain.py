"""The notifier's rules as pure functions: deadlines, reminders, retries, escalation, on time."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain import (
    Status,
    due_at,
    escalate_to,
    is_late,
    next_reminder,
    reminder_times,
    retry_delay,
)
from services.notifier.ontime import OnTime, Outcome, on_time

ISSUED = dt.datetime(2026, 11, 21, 1, 31, tzinfo=dt.UTC)
SIX_HOURS = dt.timedelta(hours=6)

aware_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
limits = st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=dt.timedelta(days=30))


# -------------------------------------------------------------------------------- due_at


def test_due_at_is_the_issue_time_plus_the_limit() -> None:
    assert due_at(ISSUED, SIX_HOURS) == dt.datetime(2026, 11, 21, 7, 31, tzinfo=dt.UTC)
    # A drill limit (6 h scaled by 21600) is one second.
    assert due_at(ISSUED, SIX_HOURS / 21600) == ISSUED + dt.timedelta(seconds=1)


@given(issued=aware_times, limit=limits)
def test_due_at_keeps_the_whole_limit(issued: dt.datetime, limit: dt.timedelta) -> None:
    due = due_at(issued, limit)
    assert due - issued == limit
    assert due.tzinfo is not None


# ----------------------------------------------------------------------------- reminders


def test_reminders_fall_at_half_and_nine_tenths_of_the_span() -> None:
    due = ISSUED + SIX_HOURS
    assert reminder_times(ISSUED, due, (0.5, 0.9)) == [
        ISSUED + dt.timedelta(hours=3),
        ISSUED + dt.timedelta(hours=5, minutes=24),
    ]


def test_reminder_times_come_in_order_whatever_order_the_fractions_have() -> None:
    due = ISSUED + dt.timedelta(hours=10)
    assert reminder_times(ISSUED, due, (0.9, 0.5, 0.25)) == [
        ISSUED + dt.timedelta(hours=2.5),
        ISSUED + dt.timedelta(hours=5),
        ISSUED + dt.timedelta(hours=9),
    ]


@pytest.mark.parametrize("outside", [0.0, 1.0, -0.5, 1.5, 2.0])
def test_fractions_outside_zero_to_one_are_ignored(outside: float) -> None:
    due = ISSUED + SIX_HOURS
    assert reminder_times(ISSUED, due, (outside, 0.5)) == [ISSUED + dt.timedelta(hours=3)]
    assert reminder_times(ISSUED, due, (outside,)) == []


def test_no_fractions_no_reminders() -> None:
    assert reminder_times(ISSUED, ISSUED + SIX_HOURS, ()) == []
    assert next_reminder(ISSUED, ISSUED + SIX_HOURS, (), after=ISSUED) is None


@given(
    issued=aware_times,
    limit=limits,
    fractions=st.lists(st.floats(min_value=-2, max_value=3, allow_nan=False), max_size=6),
)
def test_every_reminder_lies_strictly_between_issue_and_deadline(
    issued: dt.datetime, limit: dt.timedelta, fractions: list[float]
) -> None:
    due = issued + limit
    times = reminder_times(issued, due, fractions)
    assert len(times) == sum(1 for f in fractions if 0 < f < 1)
    assert times == sorted(times)
    assert all(issued <= t <= due for t in times)


def test_next_reminder_is_strictly_after_the_given_time() -> None:
    due = ISSUED + SIX_HOURS
    half = ISSUED + dt.timedelta(hours=3)
    late = ISSUED + dt.timedelta(hours=5, minutes=24)
    fractions = (0.5, 0.9)
    assert next_reminder(ISSUED, due, fractions, after=ISSUED) == half
    assert next_reminder(ISSUED, due, fractions, after=half - dt.timedelta(microseconds=1)) == half
    # Exactly at a reminder time, that reminder is spent: the next one comes.
    assert next_reminder(ISSUED, due, fractions, after=half) == late
    assert next_reminder(ISSUED, due, fractions, after=late - dt.timedelta(seconds=1)) == late
    assert next_reminder(ISSUED, due, fractions, after=late) is None
    assert next_reminder(ISSUED, due, fractions, after=due) is None
    assert next_reminder(ISSUED, due, fractions, after=due + SIX_HOURS) is None


@given(
    issued=aware_times,
    limit=limits,
    fractions=st.lists(
        st.floats(min_value=0.01, max_value=0.99, allow_nan=False), min_size=1, max_size=5
    ),
    offset=st.floats(min_value=-1, max_value=2, allow_nan=False),
)
def test_next_reminder_is_the_first_reminder_after(
    issued: dt.datetime, limit: dt.timedelta, fractions: list[float], offset: float
) -> None:
    due = issued + limit
    after = issued + limit * offset
    found = next_reminder(issued, due, fractions, after=after)
    later = [t for t in reminder_times(issued, due, fractions) if t > after]
    if later:
        assert found == min(later)
        assert found is not None and found > after
    else:
        assert found is None


# ------------------------------------------------------------------------------- retries


def test_retry_delay_doubles_from_the_base() -> None:
    delays = [retry_delay(n, base_seconds=2).total_seconds() for n in range(1, 6)]
    assert delays == [2, 4, 8, 16, 32]


def test_retry_delay_is_capped() -> None:
    assert retry_delay(20, base_seconds=2) == dt.timedelta(seconds=300)
    assert retry_delay(4, base_seconds=2, cap_seconds=10) == dt.timedelta(seconds=10)
    assert retry_delay(3, base_seconds=2, cap_seconds=10) == dt.timedelta(seconds=8)


def test_retry_delay_before_the_first_attempt_is_the_base() -> None:
    assert retry_delay(0, base_seconds=1.5) == dt.timedelta(seconds=1.5)
    assert retry_delay(1, base_seconds=1.5) == dt.timedelta(seconds=1.5)


@given(
    attempt=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.01, max_value=30, allow_nan=False),
    cap=st.floats(min_value=1, max_value=3600, allow_nan=False),
)
def test_retry_delay_grows_monotonically_up_to_the_cap(
    attempt: int, base: float, cap: float
) -> None:
    this = retry_delay(attempt, base_seconds=base, cap_seconds=cap)
    following = retry_delay(attempt + 1, base_seconds=base, cap_seconds=cap)
    assert dt.timedelta(0) < this <= following
    assert this <= dt.timedelta(seconds=cap)
    expected = min(cap, base * 2 ** (attempt - 1))
    assert abs(this.total_seconds() - expected) < 1e-5


# ---------------------------------------------------------------------------- escalation


def test_escalation_goes_one_body_up_and_keeps_the_rest_of_the_chain() -> None:
    chain = ["xuanen.county.tripartite", "xuanen.prefecture.tripartite"]
    assert escalate_to(chain) == ("xuanen.county.tripartite", ["xuanen.prefecture.tripartite"])
    assert escalate_to(["xuanen.prefecture.tripartite"]) == ("xuanen.prefecture.tripartite", [])


def test_at_the_top_there_is_nowhere_to_escalate() -> None:
    assert escalate_to([]) is None
    assert escalate_to(()) is None


def test_walking_the_chain_visits_each_body_once_in_order() -> None:
    chain = ["changchun.leading_group", "changchun.director", "changchun.city_government"]
    visited, rest = [], list(chain)
    while (up := escalate_to(rest)) is not None:
        body, rest = up
        visited.append(body)
    assert visited == chain
    assert chain == ["changchun.leading_group", "changchun.director", "changchun.city_government"]


# -------------------------------------------------------------------------------- lateness


def test_an_acknowledgement_before_or_at_the_deadline_is_not_late() -> None:
    due = ISSUED + SIX_HOURS
    assert is_late(due - dt.timedelta(seconds=1), due) is False
    assert is_late(due, due) is False  # equal is on time
    assert is_late(due + dt.timedelta(microseconds=1), due) is True
    assert is_late(due + dt.timedelta(hours=1), due) is True


def test_without_a_deadline_nothing_is_late() -> None:
    assert is_late(ISSUED + dt.timedelta(days=365), None) is False


def test_lateness_compares_instants_across_time_zones() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    due = dt.datetime(2026, 11, 21, 15, 31, tzinfo=shanghai)  # 07:31 UTC
    assert is_late(dt.datetime(2026, 11, 21, 7, 30, tzinfo=dt.UTC), due) is False
    assert is_late(dt.datetime(2026, 11, 21, 7, 32, tzinfo=dt.UTC), due) is True


# --------------------------------------------------------------------------------- on time


def test_on_time_counts_per_body_sorted_by_body() -> None:
    stats = on_time(
        [
            Outcome("b.office", Status.ACKNOWLEDGED, False),
            Outcome("a.town", Status.ACKNOWLEDGED, False),
            Outcome("a.town", Status.ACKNOWLEDGED, True),
            Outcome("a.town", Status.OVERDUE, False),
            Outcome("a.town", Status.PENDING, False),
            Outcome("b.office", Status.PENDING, False),
        ]
    )
    assert stats == [
        OnTime(
            "a.town", total=4, acknowledged_on_time=1, acknowledged_late=1, overdue=1, pending=1
        ),
        OnTime(
            "b.office", total=2, acknowledged_on_time=1, acknowledged_late=0, overdue=0, pending=1
        ),
    ]
    # Decided: everything not pending; on time over decided.
    assert stats[0].on_time_rate == pytest.approx(1 / 3)
    assert stats[1].on_time_rate == 1.0


def test_the_rate_is_none_while_nothing_is_decided() -> None:
    (only,) = on_time(
        [Outcome("a.town", Status.PENDING, False), Outcome("a.town", Status.PENDING, False)]
    )
    assert only.total == 2 and only.pending == 2
    assert only.on_time_rate is None


def test_all_late_or_overdue_is_a_rate_of_zero() -> None:
    (only,) = on_time(
        [Outcome("a.town", Status.OVERDUE, False), Outcome("a.town", Status.ACKNOWLEDGED, True)]
    )
    assert only.on_time_rate == 0.0


def test_no_outcomes_no_bodies() -> None:
    assert on_time([]) == []


statuses = st.sampled_from(list(Status))
outcomes = st.lists(
    st.builds(Outcome, st.sampled_from(["a", "b", "c"]), statuses, st.booleans()), max_size=40
)


@given(outcomes)
def test_on_time_counts_add_up(items: list[Outcome]) -> None:
    stats = on_time(iter(items))  # any iterable, consumed once
    owing = [o for o in items if o.status is not Status.CLOSED]  # closed: nothing owed
    assert [s.body_id for s in stats] == sorted({o.body_id for o in owing})
    for s in stats:
        mine = [o for o in owing if o.body_id == s.body_id]
        assert s.total == len(mine)
        assert s.acknowledged_on_time + s.acknowledged_late + s.overdue + s.pending == s.total
        assert s.acknowledged_on_time == sum(
            1 for o in mine if o.status == "acknowledged" and not o.late
        )
        assert s.acknowledged_late == sum(1 for o in mine if o.status == "acknowledged" and o.late)
        assert s.overdue == sum(1 for o in mine if o.status == "overdue")
        decided = s.total - s.pending
        if decided == 0:
            assert s.on_time_rate is None
        else:
            assert s.on_time_rate == s.acknowledged_on_time / decided
            assert 0.0 <= s.on_time_rate <= 1.0

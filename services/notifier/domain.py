"""The notifier's rules, as pure functions: deadlines, reminders, retries, on-time rates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def due_at(issued_at: dt.datetime, limit: dt.timedelta) -> dt.datetime:
    """When a report is due: the warning's issue time plus the level's (scaled) limit."""
    return issued_at + limit


def reminder_times(
    issued_at: dt.datetime, due: dt.datetime, fractions: Sequence[float]
) -> list[dt.datetime]:
    """When to remind, as fractions of the way from issue to deadline, in order."""
    span = due - issued_at
    return sorted(issued_at + span * f for f in fractions if 0 < f < 1)


def next_reminder(
    issued_at: dt.datetime, due: dt.datetime, fractions: Sequence[float], *, after: dt.datetime
) -> dt.datetime | None:
    """The first reminder time strictly after `after`, or None if none is left."""
    return next((t for t in reminder_times(issued_at, due, fractions) if t > after), None)


def retry_delay(attempt: int, *, base_seconds: float, cap_seconds: float = 300.0) -> dt.timedelta:
    """Exponential backoff after the given failed attempt (1-based), capped."""
    return dt.timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


def escalate_to(chain: Sequence[str]) -> tuple[str, list[str]] | None:
    """The next body up and the chain above it, or None at the top."""
    if not chain:
        return None
    return chain[0], list(chain[1:])


def is_late(acknowledged_at: dt.datetime, due: dt.datetime | None) -> bool:
    """Say whether an acknowledgement came after the deadline."""
    return due is not None and acknowledged_at > due


@dataclass(frozen=True)
class Outcome:
    """One notification as the on-time statistics see it."""

    body_id: str
    status: str  # pending | acknowledged | overdue
    late: bool


@dataclass(frozen=True)
class OnTime:
    """How one body keeps its reporting limits."""

    body_id: str
    total: int
    acknowledged_on_time: int
    acknowledged_late: int
    overdue: int
    pending: int

    @property
    def on_time_rate(self) -> float | None:
        """Acknowledged on time over all that are decided (not still pending)."""
        decided = self.total - self.pending
        return None if decided == 0 else self.acknowledged_on_time / decided


def on_time(outcomes: Iterable[Outcome]) -> list[OnTime]:
    """Per-body on-time statistics, by body id."""
    counts: dict[str, list[int]] = {}
    for o in outcomes:
        c = counts.setdefault(o.body_id, [0, 0, 0, 0, 0])
        c[0] += 1
        if o.status == "acknowledged":
            c[2 if o.late else 1] += 1
        elif o.status == "overdue":
            c[3] += 1
        else:
            c[4] += 1
    return [OnTime(body, *c) for body, c in sorted(counts.items())]

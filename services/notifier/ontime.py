"""On-time statistics (报送时效): how each body keeps its reporting limits. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.notifier.domain import Status


@dataclass(frozen=True)
class Outcome:
    """One notification as the on-time statistics see it."""

    body_id: str
    status: Status
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
    """Per-body on-time statistics, by body id; closed notifications owe nothing."""
    counts: dict[str, list[int]] = {}
    for o in outcomes:
        if o.status == Status.CLOSED:
            continue
        c = counts.setdefault(o.body_id, [0, 0, 0, 0, 0])
        c[0] += 1
        if o.status == Status.ACKNOWLEDGED:
            c[2 if o.late else 1] += 1
        elif o.status == Status.OVERDUE:
            c[3] += 1
        else:
            c[4] += 1
    return [OnTime(body, *c) for body, c in sorted(counts.items())]

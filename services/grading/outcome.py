"""What a change of an incident returns (`Outcome`: the timeline entries it adds, and whether
it is announced or warned), and what it refuses (`Refused`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.grading.words import NOTIFIER


@dataclass(frozen=True)
class Happened:
    """One thing that happened to an incident: a timeline entry to append."""

    kind: str
    actor: str
    detail: dict[str, Any]
    note: str | None = None


@dataclass
class Outcome:
    """What a change did: the timeline entries, whether to announce the incident, and
    whether a warning was issued (its level before, and whether by assessment)."""

    happened: list[Happened] = field(default_factory=list)
    announce: bool = False
    warned: bool = False
    previous_level: str | None = None
    previous_rank: int = 0
    by_assessment: bool = False


class Refused(ValueError):
    """A change the rules do not allow; `status` is the HTTP answer (409, 422), `loc` the
    field at fault."""

    def __init__(self, status: int, message: str, loc: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.loc = loc


def changes_incident(notice_kind: str) -> bool:
    """Say whether what the notifier did changes the incident (an escalation sends it to one
    more body) or only adds to its timeline (sent, acknowledged, closed…)."""
    return notice_kind == "escalated"


def notice_entry(kind: str, detail: dict[str, Any], note: str | None) -> Happened:
    """The timeline entry of what the notifier did."""
    return Happened(f"notification_{kind}", NOTIFIER, detail, note)

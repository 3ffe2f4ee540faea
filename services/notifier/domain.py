"""The notifier's rules: the `Notification` aggregate and pure functions (deadlines, reminders,
retries, escalation, on-time rates). No I/O: the store reads and writes, handlers call these."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class Kind(enum.StrEnum):
    """Whether a body must answer a notification."""

    RESPONSIBLE = "responsible"  # must acknowledge by due_at (报送时限)
    COPY = "copy"  # for information (抄送): no deadline, closed as soon as it is made


class Status(enum.StrEnum):
    """Where a notification stands."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"
    CLOSED = "closed"


class ClosedReason(enum.StrEnum):
    """Why a notification closed without an acknowledgement."""

    SUPERSEDED = "superseded"  # the level rose: a new notification replaced it
    LIFTED = "lifted"  # the leading group's assessment lowered or lifted the level
    CASE_CLOSED = "case_closed"  # the incident's case closed
    COPY = "copy"  # a copy: needs no acknowledgement


class Via(enum.StrEnum):
    """How an acknowledgement came in."""

    API = "api"
    LINK = "link"  # the one-click link of a message
    FORM = "form"  # filing the warning-information form (cases)


class Purpose(enum.StrEnum):
    """What a delivery sends."""

    NOTICE = "notice"
    REMINDER = "reminder"


class NotAcknowledgeable(Exception):
    """A closed notification needs no acknowledgement and takes none."""


# ------------------------------------------------------------------------ pure functions


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


def replaced_by(
    notice_rank: int, *, new_rank: int, previous_rank: int, by_assessment: bool
) -> ClosedReason | None:
    """Why a pending notification of an incident closes when a new warning of it arrives
    (`new_rank` 0: lifted), or None if it stays pending.

    An assessment that lowers or lifts the level closes what was pending as `lifted`; any other
    assessment, or a level that rose, replaces it (`superseded`). `previous_rank` is the level
    the warning replaced, 0 where the publisher did not say: the notification's own rank
    stands in for it then.
    """
    before = previous_rank or notice_rank
    if by_assessment:
        return ClosedReason.LIFTED if new_rank < before else ClosedReason.SUPERSEDED
    return ClosedReason.SUPERSEDED if new_rank > notice_rank else None


# ------------------------------------------------------------------------ the aggregate


@dataclass(frozen=True)
class Notice:
    """What a warning tells every body it goes to (frozen at issue: a policy file changed
    later alters none of it)."""

    incident_id: str
    jurisdiction: str
    level: str
    level_label: str
    level_rank: int
    policy: str
    issued_at: dt.datetime
    limit_seconds: float
    summary: dict[str, Any]  # the essentials every message repeats
    regions: list[str]  # the incident's, for who reads it
    event_key: str  # the Kafka key of the incident's enterprise
    drill: bool


@dataclass(frozen=True)
class LateReport:
    """A deadline a body missed (迟报)."""

    notification_id: str
    incident_id: str
    body_id: str
    level: str
    due_at: dt.datetime
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True)
class Acknowledged:
    """A notification was acknowledged; `late_report` is new (acknowledged late before the
    clock noticed) or the clock's, now answered."""

    late: bool
    late_report: LateReport | None
    late_report_exists: bool


@dataclass(frozen=True)
class Overdue:
    """A deadline passed unacknowledged: the late report, and the notification to the next
    body up (None at the top of the chain)."""

    late_report: LateReport
    escalation: Notification | None


@dataclass(slots=True)
class Notification:
    """A warning as one body must receive it, and the clock it is held to."""

    id: str
    warning_id: str  # the incident.warning event's id (or `escalation:<id>`)
    body_id: str
    kind: Kind
    incident_id: str
    jurisdiction: str
    level: str
    level_label: str
    level_rank: int
    policy: str
    issued_at: dt.datetime
    due_at: dt.datetime | None
    limit_seconds: float
    escalation_chain: list[str]
    reminder_fractions: list[float]
    next_reminder_at: dt.datetime | None
    summary: dict[str, Any]
    regions: list[str]
    event_key: str
    drill: bool
    created_at: dt.datetime
    status: Status = Status.PENDING
    closed_reason: ClosedReason | None = None
    closed_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    ack_via: Via | None = None
    late: bool = False
    escalated_from: str | None = None
    reminders_sent: int = 0

    @classmethod
    def issue(
        cls,
        notice: Notice,
        *,
        warning_id: str,
        body_id: str,
        kind: Kind,
        chain: Sequence[str],
        fractions: Sequence[float],
        now: dt.datetime,
        escalated_from: str | None = None,
    ) -> Notification:
        """A new notification of a notice to a body; a copy is closed as it is made."""
        responsible = kind is Kind.RESPONSIBLE
        due = due_at(notice.issued_at, dt.timedelta(seconds=notice.limit_seconds))
        made = cls(
            id=str(uuid.uuid4()),
            warning_id=warning_id,
            body_id=body_id,
            kind=kind,
            incident_id=notice.incident_id,
            jurisdiction=notice.jurisdiction,
            level=notice.level,
            level_label=notice.level_label,
            level_rank=notice.level_rank,
            policy=notice.policy,
            issued_at=notice.issued_at,
            due_at=due if responsible else None,
            limit_seconds=notice.limit_seconds,
            escalation_chain=list(chain) if responsible else [],
            reminder_fractions=list(fractions) if responsible else [],
            next_reminder_at=next_reminder(notice.issued_at, due, fractions, after=now)
            if responsible
            else None,
            summary=notice.summary,
            regions=notice.regions,
            event_key=notice.event_key,
            drill=notice.drill,
            created_at=now,
            escalated_from=escalated_from,
        )
        if not responsible:
            made.close(ClosedReason.COPY, at=now)
        return made

    @property
    def notice(self) -> Notice:
        """What this notification was told, to tell the next body up."""
        return Notice(
            incident_id=self.incident_id,
            jurisdiction=self.jurisdiction,
            level=self.level,
            level_label=self.level_label,
            level_rank=self.level_rank,
            policy=self.policy,
            issued_at=self.issued_at,
            limit_seconds=self.limit_seconds,
            summary=self.summary,
            regions=self.regions,
            event_key=self.event_key,
            drill=self.drill,
        )

    def acknowledge(
        self, *, at: dt.datetime, by: str, note: str | None, via: Via
    ) -> Acknowledged | None:
        """Acknowledge: no reminder or escalation follows; late is late. None if it was
        acknowledged before (a repeat changes nothing); a closed one takes none."""
        if self.status is Status.ACKNOWLEDGED:
            return None
        if self.status is Status.CLOSED:
            raise NotAcknowledgeable(f"notification {self.id} is closed ({self.closed_reason})")
        # The clock wrote the late report when it marked the notification overdue.
        clock_noticed = self.status is Status.OVERDUE
        self.late = is_late(at, self.due_at)
        self.status = Status.ACKNOWLEDGED
        self.acknowledged_at = at
        self.acknowledged_by = by
        self.ack_note = note
        self.ack_via = via
        self.next_reminder_at = None
        report = self._late_report(at, acknowledged=True) if self.late else None
        return Acknowledged(self.late, report, late_report_exists=clock_noticed)

    def close(self, reason: ClosedReason, *, at: dt.datetime) -> bool:
        """Close a pending notification (only those close); say whether it closed."""
        if self.status is not Status.PENDING:
            return False
        self.status = Status.CLOSED
        self.closed_reason = reason
        self.closed_at = at
        self.next_reminder_at = None
        return True

    def fire_deadline(self, now: dt.datetime, *, fractions: Sequence[float]) -> Overdue | None:
        """Mark a pending notification past its deadline overdue, and escalate it one body up
        (with the level's full limit from now). None if it is not due."""
        if self.status is not Status.PENDING or self.due_at is None or self.due_at > now:
            return None
        self.status = Status.OVERDUE
        self.next_reminder_at = None
        up = escalate_to(self.escalation_chain)
        escalation = None
        if up is not None:
            body_id, rest = up
            notice = dataclasses.replace(
                self.notice,
                issued_at=now,
                summary={**self.summary, "escalated_from_body": self.body_id},
            )
            escalation = Notification.issue(
                notice,
                warning_id=f"escalation:{self.id}",
                body_id=body_id,
                kind=Kind.RESPONSIBLE,
                chain=rest,
                fractions=fractions,
                now=now,
                escalated_from=self.id,
            )
        return Overdue(self._late_report(now, acknowledged=False), escalation)

    def remind(self, now: dt.datetime) -> bool:
        """Count a reminder due now and set the next one; False if none is due."""
        if (
            self.status is not Status.PENDING
            or self.due_at is None
            or self.next_reminder_at is None
            or self.next_reminder_at > now
        ):
            return False
        self.reminders_sent += 1
        self.next_reminder_at = next_reminder(
            self.issued_at, self.due_at, self.reminder_fractions, after=now
        )
        return True

    def _late_report(self, at: dt.datetime, *, acknowledged: bool) -> LateReport:
        assert self.due_at is not None
        return LateReport(
            notification_id=self.id,
            incident_id=self.incident_id,
            body_id=self.body_id,
            level=self.level,
            due_at=self.due_at,
            detected_at=at,
            acknowledged_at=at if acknowledged else None,
        )

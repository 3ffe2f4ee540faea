"""The notifier's parts, held together: its store, clock, outbox, channels and wording, and
what every handler does alike (issue a notification, announce what happened to one).

The handlers are `consumers.py` (warnings arrive), `deadlines.py` (the clock fires deadlines
and reminders), `delivery.py` (messages go out) and `operations.py` (the API's operations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.clock import Clock
from libs.common.contracts import Acknowledgement, NotificationData, NotificationEvent
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.privacy import Cipher, redact
from services.notifier.channels import Message, Sender
from services.notifier.domain import Notification, Purpose, retry_delay
from services.notifier.links import AckLinks
from services.notifier.messages import Wording
from services.notifier.schemas import NotificationOut
from services.notifier.store import NotificationStore

SERVICE = "notifier"


@dataclass
class Notifier:
    """The notifier's parts; handlers take it as their first argument."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    outbox: Outbox
    clock: Clock
    cipher: Cipher
    senders: Mapping[str, Sender]
    links: AckLinks
    reminder_fractions: Sequence[float] = (0.5, 0.9)
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    # Webhook targets on loopback or link-local addresses allowed (LABORWATCH_ALLOW_LOCAL_TARGETS)
    allow_local_targets: bool = False
    store: NotificationStore = field(default_factory=NotificationStore)

    @property
    def wording(self) -> Wording:
        """Names and labels for messages and pages."""
        return Wording(self.registry)

    async def issue(self, session: AsyncSession, n: Notification, *, now: dt.datetime) -> None:
        """Store a new notification, queue its notice, and announce it."""
        await self.store.add(session, n, now=now)
        self.announce(session, n, "sent")

    def announce(self, session: AsyncSession, n: Notification, kind: str, **extra: Any) -> None:
        """Publish what happened to a notification (`notification.v1`), with its state change."""
        event = NotificationEvent(
            kind=kind,
            incident_id=n.incident_id,
            notification=data_of(n),
            **extra,
        )
        self.outbox.add(
            session,
            topic=NotificationEvent.topic,
            event_=event.to_event(subject=n.id, key=n.event_key),
        )

    def message(
        self, n: Notification, *, purpose: Purpose, delivery_id: int, link: str | None
    ) -> Message:
        """A delivery's message: Chinese texts for people, the notification for machines."""
        from services.notifier.cases import case_message  # a case's message (cases.py)

        message = case_message(n, delivery_id) or self.wording.message(
            n, purpose=purpose, delivery_id=delivery_id, link=link
        )
        message.payload.update(
            type=NotificationEvent.type_,
            purpose=purpose.value,
            notification=data_of(n).model_dump(mode="json"),
            summary=n.summary,
        )
        return message

    def retry_delay(self, attempt: int) -> dt.timedelta:
        """How long to wait after a failed attempt (1-based)."""
        return retry_delay(attempt, base_seconds=self.backoff_seconds)

    def ack_url(self, notification_id: str, *, issued_at: dt.datetime) -> str:
        """A one-click acknowledgement link of a notification."""
        return self.links.url(notification_id, issued_at=issued_at)


def acknowledgement_of(n: Notification) -> Acknowledgement | None:
    """Who acknowledged a notification, when, how, and what they said."""
    if n.acknowledged_at is None or n.ack_via is None:
        return None
    return Acknowledgement(
        at=n.acknowledged_at,
        by=n.acknowledged_by or "",
        note=n.ack_note and redact(n.ack_note),
        via=n.ack_via.value,
    )


def data_of(n: Notification) -> NotificationData:
    """A notification as its events carry it."""
    return NotificationData(
        id=n.id,
        incident_id=n.incident_id,
        jurisdiction=n.jurisdiction,
        body_id=n.body_id,
        kind=n.kind.value,
        level=n.level,
        level_label=n.level_label,
        level_rank=n.level_rank,
        issued_at=n.issued_at,
        due_at=n.due_at,
        status=n.status.value,
        closed_reason=n.closed_reason.value if n.closed_reason else None,
        closed_at=n.closed_at,
        acknowledged_at=n.acknowledged_at,
        acknowledgement=acknowledgement_of(n),
        late=n.late,
        escalated_from=n.escalated_from,
        escalation_chain=n.escalation_chain,
        regions=n.regions,
        drill=n.drill,
    )


def out_of(n: Notification) -> NotificationOut:
    """A notification as the API shows it."""
    return NotificationOut(
        **data_of(n).model_dump(),
        acknowledged_by=n.acknowledged_by,
        reminders_sent=n.reminders_sent,
    )

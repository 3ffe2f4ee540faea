"""The notifier's events, on `laborwatch.notification.v1`."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from libs.common.contracts.base import EventData
from libs.common.events import NOTIFICATION

NotificationStatus = Literal["pending", "acknowledged", "overdue", "closed"]
ClosedReason = Literal["superseded", "lifted", "case_closed", "copy"]


class Acknowledgement(BaseModel):
    """Who acknowledged a notification, when, how, and what they said."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: dt.datetime
    by: str
    note: str | None
    via: Literal["api", "link", "form"]


class NotificationData(BaseModel):
    """A notification as the notifier shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    incident_id: str
    jurisdiction: str
    body_id: str
    kind: Literal["responsible", "copy"]
    level: str
    level_label: str
    level_rank: int = 0
    issued_at: dt.datetime
    due_at: dt.datetime | None
    status: NotificationStatus
    closed_reason: ClosedReason | None = None
    closed_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None
    acknowledgement: Acknowledgement | None = None
    late: bool
    escalated_from: str | None
    escalation_chain: list[str]
    # The incident's regions: who reads the notification (a township's responder reads its
    # region's).
    regions: list[str] = []
    drill: bool


class NotificationEvent(EventData):
    """`laborwatch.notification.v1`: something happened to a notification."""

    type_: ClassVar[str] = NOTIFICATION
    topic: ClassVar[str] = NOTIFICATION
    source_service: ClassVar[str] = "notifier"

    kind: Literal["sent", "reminded", "delivered", "acknowledged", "overdue", "escalated", "closed"]
    incident_id: str
    notification: NotificationData
    escalated_to: str | None = None  # the escalation's notification id
    to_body_id: str | None = None  # and its body
    channel: str | None = None
    purpose: str | None = None

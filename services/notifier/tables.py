"""The notifier's tables: notifications with their deadlines, deliveries, late reports, channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime
from libs.common.tables import BigId


class Notification(Base):
    """A warning as one body must receive it, and the clock it is held to."""

    __tablename__ = "notifier_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(64))
    body_id: Mapped[str] = mapped_column(String(128), index=True)
    # responsible: must acknowledge by due_at; copy: for information (报告), no deadline.
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(32))
    level_label: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    warning_id: Mapped[str] = mapped_column(String(200))  # the incident.warning event's id
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # pending | acknowledged | overdue
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_note: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean)
    escalated_from: Mapped[str | None] = mapped_column(String(36))
    # Frozen when the warning was issued: a policy file changed later alters none of these.
    limit_seconds: Mapped[float] = mapped_column(Float)
    escalation_chain: Mapped[list[str]] = mapped_column(JSON)
    reminder_fractions: Mapped[list[float]] = mapped_column(JSON)
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # the warning's essentials
    drill: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One notification per (warning, body), however often the warning is delivered.
        UniqueConstraint("warning_id", "body_id"),
        # One escalation per notification, however many replicas watch the clock.
        Index("uq_notifier_notifications_escalated_from", "escalated_from", unique=True),
        Index("ix_notifier_notifications_due", "status", "due_at"),
        Index("ix_notifier_notifications_reminder", "status", "next_reminder_at"),
        Index("ix_notifier_notifications_created", "created_at", "id"),
    )


class Delivery(Base):
    """Sending one message of a notification over one channel, with its retries."""

    __tablename__ = "notifier_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # notice | reminder
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | sms
    channel_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_notifier_deliveries_due", "status", "next_attempt_at"),)


class LateReport(Base):
    """A deadline a body missed (迟报): recorded when it passes, kept for good."""

    __tablename__ = "notifier_late_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(36), unique=True)
    incident_id: Mapped[str] = mapped_column(String(36))
    body_id: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Channel(Base):
    """Where a body receives warnings: a webhook, an email address, a phone for SMS."""

    __tablename__ = "notifier_channels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    body_id: Mapped[str] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    secret_sealed: Mapped[str | None] = mapped_column(Text)  # webhook secret, encrypted
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

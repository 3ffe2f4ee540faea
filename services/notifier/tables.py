"""The notifier's tables: notifications with their deadlines, deliveries, late reports, channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime
from libs.common.tables import BigId
from services.notifier import domain


class Notification(Base):
    """A warning as one body must receive it, and the clock it is held to."""

    __tablename__ = "notifier_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(36), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(64))
    body_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # domain.Kind
    level: Mapped[str] = mapped_column(String(32))
    level_label: Mapped[str] = mapped_column(String(64))
    level_rank: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(64))
    warning_id: Mapped[str] = mapped_column(String(200))  # the incident.warning event's id
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # domain.Status
    closed_reason: Mapped[str | None] = mapped_column(String(16))  # domain.ClosedReason
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))  # the key or user
    ack_note: Mapped[str | None] = mapped_column(Text)
    ack_via: Mapped[str | None] = mapped_column(String(8))  # domain.Via
    late: Mapped[bool] = mapped_column(Boolean)
    escalated_from: Mapped[str | None] = mapped_column(String(36))
    # Frozen when the warning was issued: a policy file changed later alters none of these.
    limit_seconds: Mapped[float] = mapped_column(Float)
    escalation_chain: Mapped[list[str]] = mapped_column(JSON)
    reminder_fractions: Mapped[list[float]] = mapped_column(JSON)
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # the warning's essentials
    # The incident's regions, for who reads it; `region_set` is ",a,b," for SQL to match.
    regions: Mapped[list[str]] = mapped_column(JSON)
    region_set: Mapped[str] = mapped_column(String(500))
    event_key: Mapped[str] = mapped_column(String(200))  # the Kafka key of its events
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
    purpose: Mapped[str] = mapped_column(String(16))  # domain.Purpose
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


# ------------------------------------------------------- the aggregate and its rows


def row_of(n: domain.Notification) -> dict[str, Any]:
    """A notification as its table's row."""
    return {
        "id": n.id,
        "incident_id": n.incident_id,
        "jurisdiction": n.jurisdiction,
        "body_id": n.body_id,
        "kind": n.kind.value,
        "level": n.level,
        "level_label": n.level_label,
        "level_rank": n.level_rank,
        "policy": n.policy,
        "warning_id": n.warning_id,
        "issued_at": n.issued_at,
        "due_at": n.due_at,
        "status": n.status.value,
        "closed_reason": n.closed_reason.value if n.closed_reason else None,
        "closed_at": n.closed_at,
        "acknowledged_at": n.acknowledged_at,
        "acknowledged_by": n.acknowledged_by,
        "ack_note": n.ack_note,
        "ack_via": n.ack_via.value if n.ack_via else None,
        "late": n.late,
        "escalated_from": n.escalated_from,
        "limit_seconds": n.limit_seconds,
        "escalation_chain": n.escalation_chain,
        "reminder_fractions": n.reminder_fractions,
        "next_reminder_at": n.next_reminder_at,
        "reminders_sent": n.reminders_sent,
        "summary": n.summary,
        "regions": n.regions,
        "region_set": "," + ",".join(n.regions) + ",",
        "event_key": n.event_key,
        "drill": n.drill,
        "created_at": n.created_at,
    }


def aggregate(row: Any) -> domain.Notification:
    """A notification read from its table."""
    m = dict(row._mapping)
    del m["region_set"]
    m["kind"] = domain.Kind(m["kind"])
    m["status"] = domain.Status(m["status"])
    m["closed_reason"] = domain.ClosedReason(m["closed_reason"]) if m["closed_reason"] else None
    m["ack_via"] = domain.Via(m["ack_via"]) if m["ack_via"] else None
    return domain.Notification(**m)


def late_row(report: domain.LateReport) -> dict[str, Any]:
    return {
        "notification_id": report.notification_id,
        "incident_id": report.incident_id,
        "body_id": report.body_id,
        "level": report.level,
        "due_at": report.due_at,
        "detected_at": report.detected_at,
        "acknowledged_at": report.acknowledged_at,
    }

"""The tables of sharing: subscriptions, the events shared, and each delivery with its retries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime
from libs.common.tables import BigId


class Subscription(Base):
    """A partner department's subscription: what it wants, where, and its signing secret."""

    __tablename__ = "notifier_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    min_level_rank: Mapped[int] = mapped_column(Integer)
    regions: Mapped[list[str] | None] = mapped_column(JSON)
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    # The signing secrets, sealed; the previous one still signs until `previous_until`.
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # active | paused
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    last_delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    # The creating request's caller and Idempotency-Key: a retry answers this subscription.
    request_key: Mapped[str | None] = mapped_column(String(300), unique=True)


class SharedEvent(Base):
    """One event as partners receive it (the CloudEvent, fixed when it was shared)."""

    __tablename__ = "notifier_shared_events"

    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))  # incident.warning | incident.closed | ...
    subject: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SharedDelivery(Base):
    """Sending one shared event to one subscription, with its retries."""

    __tablename__ = "notifier_shared_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    give_up_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # One delivery per (subscription, event), however often the event is consumed.
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_notifier_shared_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notifier_shared_deliveries_listing", "subscription_id", "id"),
    )

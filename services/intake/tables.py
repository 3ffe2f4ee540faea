"""Intake's tables: reports as received, idempotency keys, webhook deliveries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime


class Report(Base):
    """A report of labor-dispute risk, from any channel, as intake accepted it."""

    __tablename__ = "intake_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # rest | webhook
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    # Whose `source_ref` it is: the submitting API key's id, or "hotline" for work orders.
    # Two senders may use the same reference for different reports.
    sender: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    affected_regions: Mapped[list[str]] = mapped_column(JSON)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_credit_code: Mapped[str | None] = mapped_column(String(18))
    enterprise_industry: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    category_text: Mapped[str | None] = mapped_column(String(100))
    workers_involved: Mapped[int] = mapped_column(Integer)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    terminations: Mapped[int] = mapped_column(Integer)
    collective_action: Mapped[str] = mapped_column(String(16))
    extreme_individual: Mapped[bool] = mapped_column(Boolean)
    potential_major_impact: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str | None] = mapped_column(Text)
    demands: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    # Reporter or caller {name, phone}, encrypted with SECRET_KEY; never stored in clear.
    reporter_sealed: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str | None] = mapped_column(String(36))  # API key id
    incident_id: Mapped[str | None] = mapped_column(String(36))
    # The platform's own fields of a work order, sealed like the reporter.
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What grading last said of the incident (its events, applied a batch at a time).
    level: Mapped[str | None] = mapped_column(String(32))
    level_label: Mapped[str | None] = mapped_column(String(64))
    incident_status: Mapped[str | None] = mapped_column(String(16))  # open | closed
    incident_routed_to: Mapped[str | None] = mapped_column(String(100))  # body id
    incident_bodies: Mapped[list[str] | None] = mapped_column(JSON)  # every body sent it
    incident_closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the retention period erased the personal data (reporter, caller, sealed fields).
    personal_data_erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("source", "sender", "source_ref"),
        Index("ix_intake_reports_jurisdiction_received", "jurisdiction", "received_at", "id"),
        Index("ix_intake_reports_received", "received_at", "id"),
        Index("ix_intake_reports_incident_id", "incident_id"),
        Index("ix_intake_reports_incident_closed_at", "incident_closed_at"),
    )


class IdempotencyKey(Base):
    """An `Idempotency-Key` a client used, with a hash of the request it came with."""

    __tablename__ = "intake_idempotency_keys"

    api_key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """A hotline webhook delivery intake has accepted, by its `webhook-id`."""

    __tablename__ = "intake_webhook_deliveries"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

"""Monitoring's tables: the register of monitored enterprises (with its history), the
observations (every revision kept) and the alerts (one per enterprise, period, indicator and
kind). Written and read with SQLAlchemy Core by the store: uploads are batches."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    text,
)

from libs.common.db import UTCDateTime, metadata
from libs.common.tables import BigId

enterprises = Table(
    "monitoring_enterprises",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("jurisdiction", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("industry", String(100)),
    Column("headcount", Integer),
    Column("reason", String(32), nullable=False),
    Column("note", String(2000)),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),  # monitoring ended (DELETE): the row stays
    # The durable `missing` timer: the next month to check, and when its figures are late.
    Column("missing_period", String(7), nullable=False),
    Column("missing_due_at", UTCDateTime()),
    Index("ix_monitoring_enterprises_jurisdiction", "jurisdiction", "region"),
    Index(
        "ix_monitoring_enterprises_missing_due_at",
        "missing_due_at",
        postgresql_where=text("ended_at IS NULL"),
    ),
)

# What happened to the register: registered, changed, ended (with the values at that time).
enterprise_history = Table(
    "monitoring_enterprise_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("credit_code", String(18), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("details", JSON, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

observations = Table(
    "monitoring_observations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("credit_code", String(18), nullable=False),
    Column("period", String(7), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False),  # the latest revision from its sender
    Column("headcount", Integer, nullable=False),
    Column("wages_due_yuan", Numeric(18, 2), nullable=False),
    Column("wages_paid_yuan", Numeric(18, 2), nullable=False),
    Column("social_insurance_arrears_months", Integer, nullable=False),
    Column("layoffs", Integer, nullable=False),
    Column("disputes", Integer, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("credit_code", "period", "sender", "revision"),
    Index("ix_monitoring_observations_current", "credit_code", "is_current", "period"),
)

alerts = Table(
    "monitoring_alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("credit_code", String(18), nullable=False),
    Column("jurisdiction", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("enterprise_name", String(200), nullable=False),
    Column("industry", String(100)),
    Column("period", String(7), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("indicator", String(40), nullable=False),
    Column("value", String(40)),
    Column("reasons", JSON, nullable=False),
    Column("reasons_zh", JSON, nullable=False),
    Column("report_id", String(36)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("drill", Boolean, nullable=False),
    UniqueConstraint("credit_code", "period", "indicator", "kind"),
    Index("ix_monitoring_alerts_jurisdiction_created", "jurisdiction", "created_at", "id"),
)

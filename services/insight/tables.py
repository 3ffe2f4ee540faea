"""Insight's tables: a read model built only from events, its per-day aggregates, and what
insight keeps of its own (review meetings, issued briefings).

Everything but `insight_reviews` and `insight_briefings` can be dropped and rebuilt by
replaying the topics (`laborwatch insight rebuild`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
)

from libs.common.db import UTCDateTime, metadata

reports = Table(
    "insight_reports",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("day", Date, nullable=False),  # received, in the jurisdiction's time zone
    Column("region", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Index("ix_insight_reports_day", "jurisdiction", "day"),
)

incidents = Table(
    "insight_incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("day", Date, nullable=False),  # opened, in the jurisdiction's time zone
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("region", String(64)),  # the first report's
    Column("category", String(32)),
    Column("industry", String(100)),
    Column("enterprise_name", String(200)),
    Column("top_level", String(32)),  # the highest level it reached
    Column("top_rank", Integer, nullable=False),
    Column("top_label", String(64)),
    Column("level", String(32)),  # now
    Column("level_label", String(64)),
    Column("lifted", Boolean, nullable=False),  # an assessment lifted or lowered it
    Column("workers", Integer, nullable=False),
    Column("amount_yuan", Numeric(18, 2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("routed_to", String(128)),
    Index("ix_insight_incidents_day", "jurisdiction", "day"),
)

notifications = Table(
    "insight_notifications",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("incident_id", String(64), nullable=False),
    Column("body_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("due_at", UTCDateTime()),
    Column("due_day", Date),
    Column("status", String(16), nullable=False),
    Column("acknowledged_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Index("ix_insight_notifications_due", "jurisdiction", "due_day"),
)

cases = Table(
    "insight_cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("incident_id", String(64), nullable=False),
    Column("jurisdiction", String(64), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("opened_day", Date, nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("closed_day", Date),
    Column("status", String(24), nullable=False),
    Column("responsible_body", String(128), nullable=False),
    Column("handling_unit", String(200)),
    Column("resolution", String(16)),
    Index("ix_insight_cases_opened", "jurisdiction", "opened_day"),
    Index("ix_insight_cases_closed", "jurisdiction", "closed_day"),
    Index("ix_insight_cases_incident", "incident_id"),
)

alerts = Table(
    "insight_alerts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("region", String(64), nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("enterprise_name", String(200)),
    Column("kind", String(16), nullable=False),
    Column("indicator", String(48), nullable=False),
    Index("ix_insight_alerts_day", "jurisdiction", "day"),
)

# One row per jurisdiction, day and figure: what a period's statistics sum (speed work: a
# five-year query reads a few thousand rows, not millions). `measure` names the figure,
# `key` the value it is broken down by ('' for a total).
daily = Table(
    "insight_daily",
    metadata,
    Column("jurisdiction", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("measure", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("month", String(7), nullable=False),
    Column("value", Numeric(20, 2), nullable=False),
)

# The same figures per month: a range of whole months reads these (a few rows a month), and
# only its partial months at either end read `insight_daily`.
monthly = Table(
    "insight_monthly",
    metadata,
    Column("jurisdiction", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("measure", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Numeric(20, 2), nullable=False),
)

reviews = Table(
    "insight_reviews",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("held_at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("attendees", JSON, nullable=False),
    Column("incident_ids", JSON, nullable=False),
    Column("conclusions", Text, nullable=False),
    Column("measures", Text, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("drill", Boolean, nullable=False),
    Index("ix_insight_reviews_held", "jurisdiction", "held_at"),
)

briefings = Table(
    "insight_briefings",
    metadata,
    Column("jurisdiction", String(64), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("narrative", JSON),
    Column("number", Integer),  # 第N期 of the year, once issued
    Column("issued_at", UTCDateTime()),
    Column("issued_by", String(200)),
    Column("docx", LargeBinary),
    Column("xlsx", LargeBinary),
)

READ_MODEL = (reports, incidents, notifications, cases, alerts, daily, monthly)

"""The cases service's tables: cases, and every step each took (its revisions: each plan,
each filed form), append-only. Free text is sealed at rest (`content_sealed`,
`detail_sealed`); what lists filter on is in clear."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from libs.common.db import UTCDateTime, metadata
from libs.common.tables import BigId

cases = Table(
    "cases_cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=False, unique=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("level", String(32)),
    Column("level_label", String(64)),
    Column("level_rank", Integer, nullable=False),
    Column("responsible_body", String(128), nullable=False),
    Column("responsible_name", String(200), nullable=False),
    Column("status", String(24), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("drill", Boolean, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("bodies", JSON, nullable=False),
    Column("event_key", String(200), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("dues", JSON, nullable=False),
    Column("on_time", JSON, nullable=False),
    Column("content_sealed", Text, nullable=False),
    # Bumped by every step: a write that read an older version lost the race (409).
    Column("version", Integer, nullable=False),
    Index("ix_cases_cases_jurisdiction_opened", "jurisdiction", "opened_at", "id"),
    Index("ix_cases_cases_opened", "opened_at", "id"),
    Index("ix_cases_cases_status", "status", "opened_at"),
)

steps = Table(
    "cases_steps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),  # the case's version this step made
    Column("step", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("by", String(300), nullable=False),
    Column("summary_zh", String(500), nullable=False),
    Column("detail_sealed", Text, nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_cases_steps_case_seq"),
)

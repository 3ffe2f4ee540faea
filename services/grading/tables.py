"""Grading's tables: incidents, the reports they gather, and an append-only timeline.

The `Incident` aggregate (services/grading/incident.py) is a plain class mapped onto its table
here, so that the rules stay free of the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime, metadata
from libs.common.tables import BigId
from services.grading.incident import Incident

__all__ = ["Incident", "IncidentReport", "TimelineEntry", "incidents"]

_OPEN = text("status = 'open'")

incidents = Table(
    "grading_incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("jurisdiction", String(64), nullable=False),
    Column("policy", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # IncidentKind
    Column("status", String(16), nullable=False),  # IncidentStatus
    Column("code_key", String(300)),
    Column("correlation_key", String(300)),
    Column("enterprise_name", String(200)),
    Column("credit_code", String(18)),
    Column("industry", String(100)),
    Column("category", String(32)),
    Column("categories", JSON, nullable=False),
    Column("region", String(64)),
    Column("regions", JSON, nullable=False),
    Column("workers_involved", Integer, nullable=False),
    Column("amount_yuan", Numeric(18, 2), nullable=False),
    Column("terminations", Integer, nullable=False),
    Column("collective_action", String(16), nullable=False),
    Column("extreme_individual", Boolean, nullable=False),
    Column("potential_major_impact", Boolean, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("level", String(32)),
    Column("level_rank", Integer, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("reasons_zh", JSON, nullable=False),
    Column("routed_to", String(128)),
    Column("bodies", JSON, nullable=False),
    Column("issued_at", UTCDateTime()),
    Column("provisional", Boolean, nullable=False),
    Column("assessed", Boolean, nullable=False),
    Column("assessed_figures", JSON),
    Column("cluster_id", String(36)),
    Column("member_ids", JSON, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("last_report_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("drill", Boolean, nullable=False),
    # The timeline's anchor, written with its entries: the newest entry's hash and how many
    # there are, so that deleting the newest entries shows as well as editing any.
    Column("timeline_head", String(64)),
    Column("timeline_entries", Integer, nullable=False, server_default="0"),
    # The incident's case (处置), once it had a warning level (services/grading/cases.py).
    Column("case_id", String(36)),
    # At most one open incident per key: two processes never open two incidents on one
    # enterprise (the loser's transaction fails, and its event, applied again, joins).
    Index(
        "uq_grading_incidents_open_key",
        "correlation_key",
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    ),
    Index(
        "uq_grading_incidents_open_code",
        "code_key",
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    ),
    Index("ix_grading_incidents_jurisdiction_opened", "jurisdiction", "opened_at", "id"),
    # The open incidents of a jurisdiction, newest first: the dashboard's counts and map, and
    # the list's `status=open`, without wading through the closed history.
    Index(
        "ix_grading_incidents_open",
        "jurisdiction",
        "opened_at",
        "id",
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    ),
    Index("ix_grading_incidents_opened", "opened_at", "id"),
    # Room in each page for a row's next version: every notification sent moves its timeline's
    # anchor, and on PostgreSQL an update that stays on its page touches none of the indexes.
    postgresql_with={"fillfactor": 80},
)

Base.registry.map_imperatively(Incident, incidents)


class IncidentReport(Base):
    """A report an incident gathers, with the figures it gave."""

    __tablename__ = "grading_incident_reports"

    report_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("grading_incidents.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)


class TimelineEntry(Base):
    """One thing that happened to an incident. Append-only; each entry seals the one before
    it (`hash` covers `prev_hash`), so an edit or a deletion shows."""

    __tablename__ = "grading_timeline"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("grading_incidents.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

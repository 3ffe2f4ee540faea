"""Grading's tables: incidents, the reports they gather, and an append-only timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime
from libs.common.tables import BigId


class Incident(Base):
    """Reports on one enterprise and category (or a county cluster), with its warning level."""

    __tablename__ = "grading_incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # single | cluster
    # Reports with the same key join this incident while it is open; a cluster's key is
    # its jurisdiction's, so there is one open cluster per jurisdiction.
    correlation_key: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))
    regions: Mapped[list[str]] = mapped_column(JSON)
    workers_involved: Mapped[int] = mapped_column(Integer)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    terminations: Mapped[int] = mapped_column(Integer)
    collective_action: Mapped[str] = mapped_column(String(16))
    extreme_individual: Mapped[bool] = mapped_column(Boolean)
    potential_major_impact: Mapped[bool] = mapped_column(Boolean)
    sources: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[str | None] = mapped_column(String(32))
    level_rank: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    routed_to: Mapped[str | None] = mapped_column(String(128))
    issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set by automatic grading under a policy that wants every level assessed; cleared by
    # the assessment.
    provisional: Mapped[bool] = mapped_column(Boolean)
    assessed: Mapped[bool] = mapped_column(Boolean)
    cluster_id: Mapped[str | None] = mapped_column(String(36))
    member_ids: Mapped[list[str]] = mapped_column(JSON)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_report_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    drill: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        # At most one open incident per key: concurrent reports never make two.
        Index(
            "uq_grading_incidents_open_key",
            "correlation_key",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_grading_incidents_jurisdiction_opened", "jurisdiction", "opened_at", "id"),
        Index("ix_grading_incidents_opened", "opened_at", "id"),
    )


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

"""Intake's rules, without I/O: a report built from a REST body or a hotline work order, the
hotline's area read as a region, what grading's events tell a report about its incident, and
who may call a reporter back (12345 回访)."""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from libs.common.access import Item, may_act
from libs.common.auth import Principal, Role
from libs.common.contracts import (
    FIGURE_NAMES,
    IncidentPlacement,
    MonitoringAlert,
    ReportRevealed,
    partition_key,
)
from libs.common.jurisdictions import Registry
from libs.common.privacy import redact
from services.intake.categories import map_hotline_category
from services.intake.schemas import HotlineOrder, ReportIn

ReportRow = Mapping[str, Any]
"""A row of `intake_reports`, by column name. Intake writes and reads its rows with SQLAlchemy
Core (decision 0008): accepting a report is the hottest path there is, and an ORM object per
report would cost more than the rest of the write."""

HOTLINE_SENDER = "hotline"
MONITORING_SENDER = "monitoring"  # whose `source_ref` (an alert id) a monitoring report has
# A report dated this far ahead of our clock is a mistake, not clock skew.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


class Channel(enum.StrEnum):
    """How a report reached intake."""

    REST = "rest"  # POST /v1/reports
    WEBHOOK = "webhook"  # a hotline work order (工单)
    MONITORING = "monitoring"  # a monitored enterprise's alert (定点监测)


class IncidentStatus(enum.StrEnum):
    """The state of the incident a report is in, as grading last said."""

    OPEN = "open"
    CLOSED = "closed"


# ------------------------------------------------------------------------ building a report


def report_from_rest(
    body: ReportIn, *, sender: str | None, now: dt.datetime, sealed_person: str | None
) -> dict[str, Any]:
    """The row of a report a partner agency submitted."""
    return _row(
        channel=Channel.REST.value,
        source=body.source,
        source_ref=body.source_ref,
        sender=sender or "",
        jurisdiction=body.jurisdiction,
        region=body.region,
        affected_regions=list(dict.fromkeys(body.affected_regions or [body.region])),
        occurred_at=body.occurred_at,
        received_at=now,
        enterprise_name=body.enterprise.name,
        enterprise_credit_code=body.enterprise.credit_code,
        enterprise_industry=body.enterprise.industry,
        category=body.category,
        category_text=None,
        **{name: getattr(body, name) for name in FIGURE_NAMES},
        summary=body.summary,
        demands=body.demands,
        location=body.location,
        reporter_sealed=sealed_person,
        submitted_by=sender,
        extra=None,
    )


def report_from_order(
    order: HotlineOrder,
    *,
    region: str,
    now: dt.datetime,
    sealed_person: str | None,
    sealed_extra: str | None,
) -> dict[str, Any]:
    """The row of a hotline work order; `region` is its `area` read as a region id."""
    return _row(
        channel=Channel.WEBHOOK.value,
        source=hotline_source(order),
        source_ref=order.order_no,
        sender=HOTLINE_SENDER,
        jurisdiction=order.jurisdiction,
        region=region,
        affected_regions=[region],
        occurred_at=order.received_at,
        received_at=now,
        enterprise_name=order.enterprise_name,
        enterprise_credit_code=order.enterprise_credit_code,
        enterprise_industry=None,
        category=map_hotline_category(order.category or "") or "other",
        category_text=order.category,
        workers_involved=order.workers_involved,
        amount_yuan=order.amount_yuan,
        terminations=order.terminations,
        collective_action=order.collective_action,
        extreme_individual=False,
        potential_major_impact=False,
        summary=order.content,
        demands=None,
        location=None,
        reporter_sealed=sealed_person,
        submitted_by=None,
        # Fields of the platform's own are kept, sealed: they may well hold personal data.
        extra=None if sealed_extra is None else {"sealed": sealed_extra},
    )


def report_from_alert(event: MonitoringAlert, *, now: dt.datetime) -> dict[str, Any] | None:
    """The row of the report a monitoring alert files (None for a `missing` alert, which files
    none): the enterprise from the register, the category and figures its indicator gives."""
    alert, report = event.alert, event.report
    if report is None:
        return None
    return _row(
        channel=Channel.MONITORING.value,
        source="monitoring",
        source_ref=alert.id,
        sender=MONITORING_SENDER,
        jurisdiction=alert.jurisdiction,
        region=alert.region,
        affected_regions=[alert.region],
        occurred_at=alert.created_at,
        received_at=now,
        enterprise_name=alert.enterprise.name,
        enterprise_credit_code=alert.enterprise.credit_code,
        enterprise_industry=alert.enterprise.industry,
        category=report.category,
        category_text=None,
        **{name: getattr(report, name) for name in FIGURE_NAMES},
        summary=report.summary,
        demands=None,
        location=None,
        reporter_sealed=None,
        submitted_by=None,
        extra=None,
    )


def hotline_source(order: HotlineOrder) -> str:
    """The report source of a work order: `hotline_12345` or `hotline_12333`."""
    return f"hotline_{order.hotline}"


def _row(**fields: Any) -> dict[str, Any]:
    """A new report's row: a fresh id, and nothing yet known of its incident."""
    return {
        "id": str(uuid.uuid4()),
        **fields,
        "incident_id": None,
        "level": None,
        "level_label": None,
        "incident_status": None,
        "incident_routed_to": None,
        "incident_bodies": None,
        "incident_closed_at": None,
        "personal_data_erased_at": None,
    }


def report_key(row: ReportRow) -> str:
    """The Kafka key of a report's events: its enterprise's, so that they stay in order."""
    return partition_key(
        row["jurisdiction"],
        credit_code=row["enterprise_credit_code"],
        name=row["enterprise_name"],
        fallback=row["id"],
    )


# ------------------------------------------------------------------------ the hotline's area

# Longest first: 长潭河侗族乡 loses 侗族乡, not only 乡.
_REGION_SUFFIXES = (
    "土家族苗族自治县",
    "街道办事处",
    "侗族乡",
    "土家族乡",
    "苗族乡",
    "民族乡",
    "开发区",
    "街道",
    "新区",
    "区",
    "市",
    "县",
    "镇",
    "乡",
)


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _short_name(name: str) -> str:
    for suffix in _REGION_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


class AreaIndex:
    """A hotline `area` read as a region: its id, or its Chinese name with or without its
    suffix (朝阳区 or 朝阳; 长潭河侗族乡 or 长潭河). Built once from the registry."""

    def __init__(self, registry: Registry) -> None:
        self._by_name: dict[tuple[str, str], str] = {}
        shorts: dict[tuple[str, str], set[str]] = {}
        for jurisdiction in registry:
            for region in jurisdiction.regions:
                self._by_name[jurisdiction.id, region.id] = region.id
                self._by_name[jurisdiction.id, _fold(region.name)] = region.id
                short = _fold(_short_name(region.name))
                shorts.setdefault((jurisdiction.id, short), set()).add(region.id)
        for key, ids in shorts.items():
            if len(ids) == 1:  # a short name two regions share names neither
                self._by_name.setdefault(key, next(iter(ids)))

    def region(self, jurisdiction: str, area: str) -> str | None:
        """The id of the region `area` names in the jurisdiction, or None."""
        return self._by_name.get((jurisdiction, _fold(area)))


# -------------------------------------------------------------------- what grading tells us


@dataclass(frozen=True)
class Placement:
    """What a report knows of its incident: which it is, its level and state, the body it is
    routed to and every body that was sent it (for who reads and who calls back)."""

    incident_id: str
    level: str | None
    level_label: str | None
    status: IncidentStatus
    routed_to: str | None
    bodies: tuple[str, ...]
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, incident: IncidentPlacement) -> Placement:
        """The placement of every report of a (single) incident."""
        status = IncidentStatus(incident.status)
        closed_at = incident.closed_at
        if status is IncidentStatus.CLOSED and closed_at is None:
            closed_at = incident.updated_at
        return cls(
            incident_id=incident.id,
            level=incident.level,
            level_label=incident.level_label,
            status=status,
            routed_to=incident.routed_to.body_id if incident.routed_to else None,
            bodies=tuple(incident.bodies),
            closed_at=closed_at,
        )


def placements(incidents: Iterable[IncidentPlacement]) -> dict[str, Placement]:
    """Report id -> its placement, from incidents in the order grading sent them: where two
    place a report, the later wins. A county cluster gathers incidents, not reports: each
    report keeps its own incident."""
    placed: dict[str, Placement] = {}
    for incident in incidents:
        if incident.kind == "cluster":
            continue
        placement = Placement.of(incident)
        for report_id in incident.report_ids:
            placed[report_id] = placement
    return placed


def erase_before(now: dt.datetime, retention_days: float) -> dt.datetime:
    """Personal data of reports whose incident closed before this is erased."""
    return now - dt.timedelta(days=retention_days)


# ---------------------------------------------------------------------------- the aggregate


class MayNotReveal(Exception):
    """The principal may not read this report's personal data."""


class NotRoutedYet(Exception):
    """The report's incident is routed to no body yet: no responder may call back."""


@dataclass(frozen=True)
class Report:
    """A report as the rules see it: where it lies, who sent it, where its incident went."""

    id: str
    jurisdiction: str
    regions: tuple[str, ...]
    submitted_by: str | None
    incident_id: str | None
    routed_to: str | None
    bodies: tuple[str, ...]

    @classmethod
    def of(cls, row: ReportRow) -> Report:
        """The report of a stored row."""
        return cls(
            id=row["id"],
            jurisdiction=row["jurisdiction"],
            regions=(row["region"], *row["affected_regions"]),
            submitted_by=row["submitted_by"],
            incident_id=row["incident_id"],
            routed_to=row["incident_routed_to"],
            bodies=tuple(row["incident_bodies"] or ()),
        )

    def item(self) -> Item:
        """Where the report lies, for the access rule."""
        return Item(
            self.jurisdiction,
            regions=self.regions,
            bodies=self.bodies,
            submitted_by=self.submitted_by,
        )

    def reveal(self, principal: Principal, *, reason: str, at: dt.datetime) -> ReportRevealed:
        """Let a caller be called back: an admin may always; a responder of the body the
        incident is routed to, once it is routed. Returns the event that records it."""
        if principal.role is not Role.ADMIN:
            if principal.role is not Role.RESPONDER or not may_act(principal):
                raise MayNotReveal(f"a {principal.role} key may not read personal data")
            if self.routed_to is None:
                raise NotRoutedYet(f"report {self.id} is not routed to a body yet")
            if principal.body_id != self.routed_to:
                raise MayNotReveal(f"report {self.id} is routed to another body")
        return ReportRevealed(
            report_id=self.id,
            incident_id=self.incident_id,
            jurisdiction=self.jurisdiction,
            by=principal.actor,
            # The reason is free text: a phone number typed into it is masked like any other.
            reason=redact(reason),
            at=at,
        )

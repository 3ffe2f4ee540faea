"""Grading's events, on `laborwatch.incident.warning.v1`."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from libs.common.contracts.base import EventData
from libs.common.contracts.figures import ReportFigures
from libs.common.events import INCIDENT_WARNING, CloudEvent

INCIDENT_UPDATED = "laborwatch.incident.updated.v1"


class BodyRef(BaseModel):
    """A body, by id and name."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    body_id: str
    name: str


class EnterpriseRef(BaseModel):
    """The employer a report or an incident is about."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str | None
    credit_code: str | None
    industry: str | None


class IncidentData(ReportFigures):
    """An incident as grading shows it (every field of `GET /v1/incidents/{id}` but the
    timeline)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    jurisdiction: str
    policy: str
    kind: Literal["single", "cluster"]
    status: Literal["open", "closed"]
    level: str | None
    level_label: str | None
    level_rank: int
    provisional: bool
    reasons: list[str]
    # The same reasons in Chinese, for people (messages, documents, the console).
    # RUF012: ruff sees no pydantic model through a base from another module (ruff#13630);
    # pydantic copies the default for each instance.
    reasons_zh: list[str] = []  # noqa: RUF012
    routed_to: BodyRef | None
    issued_at: dt.datetime | None
    report_ids: list[str]
    member_ids: list[str]
    cluster_id: str | None
    corroboration: int
    sources: list[str]
    enterprise: EnterpriseRef
    category: str | None
    # A cluster's members' categories (a single incident's one); events published before
    # this field existed read as their one category (`_categories`).
    categories: list[str]
    region: str | None
    regions: list[str]
    # The six figures come from `ReportFigures`.
    opened_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None = None
    # Every body that holds a notification of it (responsible, copies, escalations): the
    # access rule lets a township's or an external body's responder read what it was sent.
    bodies: list[str] = []  # noqa: RUF012 (as `reasons_zh`)
    drill: bool

    @model_validator(mode="before")
    @classmethod
    def _categories(cls, data: Any) -> Any:
        if isinstance(data, dict) and "categories" not in data:
            category = data.get("category")
            return {**data, "categories": [category] if category else []}
        return data


class WarningData(BaseModel):
    """A warning as issued: its level and, frozen, the limits and chain in force.

    A lifted warning has `level: null` and `lifted: true`. `by_assessment` is true for a level
    set or lifted by the leading group."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    level: str | None
    level_label: str | None = None
    level_rank: int = 0
    previous_level: str | None
    previous_level_rank: int = 0
    policy: str
    reasons: list[str]
    reasons_zh: list[str] = []
    routed_to: BodyRef | None = None
    copies: list[BodyRef] = []
    issued_at: dt.datetime | None
    reporting_limit: str | None = None
    reporting_limit_seconds: float | None = None
    due_at: dt.datetime | None = None
    escalation_chain: list[str] = []
    drill: bool
    by_assessment: bool = False
    lifted: bool = False


class IncidentWarning(EventData):
    """`laborwatch.incident.warning.v1`: a warning was issued (a new or raised level, or one
    set or lifted by assessment)."""

    type_: ClassVar[str] = INCIDENT_WARNING
    topic: ClassVar[str] = INCIDENT_WARNING
    source_service: ClassVar[str] = "grading"

    incident: IncidentData
    warning: WarningData


class IncidentPlacement(BaseModel):
    """Of an incident, only where its reports stand: the fields of `IncidentData` that intake
    reads from both event types of this topic (read alone, a fifth of the whole's cost)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: Literal["single", "cluster"]
    status: Literal["open", "closed"]
    level: str | None
    level_label: str | None
    routed_to: BodyRef | None
    report_ids: list[str]
    updated_at: dt.datetime
    closed_at: dt.datetime | None = None
    bodies: list[str] = []

    @classmethod
    def of(cls, event: CloudEvent) -> IncidentPlacement | None:
        """The placement an event of this topic carries; None for a type it does not know."""
        if event.type not in (IncidentWarning.type_, IncidentUpdated.type_):
            return None
        return _Placed.model_validate(event.data).incident


class _Placed(BaseModel):
    # A dead letter's error names the event it could not read.
    model_config = ConfigDict(
        frozen=True, extra="ignore", title="IncidentWarning or IncidentUpdated (its placement)"
    )

    incident: IncidentPlacement


class IncidentUpdated(EventData):
    """`laborwatch.incident.updated.v1`: an incident changed without a new warning (a report
    joined, an assessment confirmed, it closed)."""

    type_: ClassVar[str] = INCIDENT_UPDATED
    topic: ClassVar[str] = INCIDENT_WARNING
    source_service: ClassVar[str] = "grading"

    incident: IncidentData
    warning: None = None

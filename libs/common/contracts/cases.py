"""The cases service's events, on `laborwatch.case.v1` (CONTRACT.md, "Incident lifecycle and
cases", "The warning-information form").

Grading puts every step in the incident's timeline and closes the incident when its case
closes; the notifier closes what is pending (`case_closed`), acknowledges the responsible
body's notification when the form is filed (`via: "form"`), and tells the government body of
a government report; insight counts cases. Free text here is masked like a report's.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from libs.common.contracts.base import EventData
from libs.common.contracts.incidents import BodyRef
from libs.common.events import CASE

CaseStatus = Literal["open", "awaiting_approval", "responding", "closed"]
CaseStep = Literal[
    "opened",  # the incident's first warning level
    "rerouted",  # the level changed: new level, perhaps a new responsible body or status
    "plan_submitted",
    "approved",
    "returned",
    "progress",
    "government_report",
    "form_filed",
    "closed",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CasePlan(_Frozen):
    """The disposal plan (处置预案)."""

    summary: str
    measures: list[str]
    handling_unit: BodyRef
    lead: str
    phone: str
    submitted_at: dt.datetime
    submitted_by: str


class CaseApproval(_Frozen):
    """The approver's decision on the latest plan (报局长审定)."""

    decision: Literal["approved", "returned"]
    note: str | None
    at: dt.datetime
    by: str


class CaseProgress(_Frozen):
    """One progress entry of the response."""

    at: dt.datetime
    by: str
    measures_taken: str
    effect: str | None
    situation: str | None
    next_steps: str | None


class GovernmentReport(_Frozen):
    """A report to the government body the policy names (市政府专报)."""

    stage: Literal["before", "during", "after"]
    content: str
    at: dt.datetime
    by: str
    to_body: BodyRef


class CaseForm(_Frozen):
    """The filed warning-information form (预警信息情况表), as filed."""

    reporting_unit: str
    enterprise_name: str | None
    level: str | None
    level_label: str | None
    filed_at: dt.datetime
    filed_by: str
    on_time: bool | None  # None where no notification at that level was due
    # The bodies the policy sends the filed form to (Xuan'en: level 1 → county, 2 → prefecture).
    send_to: list[BodyRef] = []


class CaseClosure(_Frozen):
    """How the case closed."""

    at: dt.datetime
    by: str
    resolution: Literal["resolved", "no_risk", "transferred"]
    outcome: str | None


class CaseData(_Frozen):
    """A case as `GET /v1/cases/{id}` shows it (the form's free text left out)."""

    id: str
    incident_id: str
    jurisdiction: str
    level: str | None
    level_label: str | None
    level_rank: int
    responsible_body: BodyRef
    status: CaseStatus
    plan: CasePlan | None
    approval: CaseApproval | None
    progress: list[CaseProgress]
    government_reports: list[GovernmentReport]
    form: CaseForm | None
    closed: CaseClosure | None
    opened_at: dt.datetime
    # The incident's regions: who reads the case (as for incidents).
    regions: list[str] = []
    drill: bool


class CaseEvent(EventData):
    """`laborwatch.case.v1`: one step of a case; `case` is the case after the step."""

    type_: ClassVar[str] = CASE
    topic: ClassVar[str] = CASE
    source_service: ClassVar[str] = "cases"

    step: CaseStep
    at: dt.datetime
    by: str  # the key or user who acted (`system` for what the case did of itself)
    summary_zh: str  # one line for the incident's timeline, e.g. "处置预案已提交（张三）"
    case: CaseData

"""Grading's response and request bodies (CONTRACT.md, "Incidents")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.common.clock import LocalTime
from libs.common.contracts import BodyRef, EnterpriseRef
from services.grading.words import CollectiveAction, Decision, IncidentKind, IncidentStatus


class IncidentOut(BaseModel):
    """An incident with its warning level, why, and where it went."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c…",
                    "jurisdiction": "changchun",
                    "policy": "changchun-2020",
                    "level": "yellow",
                    "level_label": "二级黄色预警",
                    "level_rank": 2,
                    "reasons": ["workers_involved 35 >= 20 (涉及人数 35 ≥ 20 人)"],
                    "routed_to": {
                        "body_id": "changchun.leading_group_office",
                        "name": "领导小组办公室",
                    },
                    "report_ids": ["…"],
                    "status": "open",
                    "issued_at": "2026-11-21T09:31:02+08:00",
                    "drill": False,
                    "kind": "single",
                    "member_ids": [],
                    "corroboration": 2,
                    "workers_involved": 35,
                    "amount_yuan": "1200000.00",
                    "terminations": 0,
                    "category": "wage_arrears",
                    "categories": ["wage_arrears"],
                    "region": "chaoyang",
                    "regions": ["chaoyang"],
                }
            ]
        }
    )

    id: str
    jurisdiction: str
    policy: str
    kind: IncidentKind
    status: IncidentStatus
    level: str | None = Field(description="null while below every warning level")
    level_label: str | None
    level_rank: int
    provisional: bool = Field(description="an automatic level not yet assessed")
    reasons: list[str]
    reasons_zh: list[str] = Field(description="the same reasons in Chinese, for people")
    routed_to: BodyRef | None
    issued_at: LocalTime | None
    report_ids: list[str]
    member_ids: list[str] = Field(description="for a cluster: the incidents it gathers")
    cluster_id: str | None = Field(description="the cluster this incident belongs to")
    corroboration: int = Field(description="distinct sources (信息多点交织印证)")
    sources: list[str]
    enterprise: EnterpriseRef
    category: str | None = Field(description="null for a cluster: see `categories`")
    categories: list[str] = Field(description="a cluster's members' categories, sorted")
    region: str | None = Field(description="the first report's region; null for a cluster")
    regions: list[str] = Field(description="every region the incident reaches")
    workers_involved: int
    amount_yuan: Decimal
    terminations: int
    collective_action: CollectiveAction
    extreme_individual: bool
    potential_major_impact: bool
    opened_at: LocalTime
    updated_at: LocalTime
    closed_at: LocalTime | None
    bodies: list[str] = Field(description="every body sent a notification of it")
    drill: bool
    case_id: str | None = Field(default=None, description="its case (处置); null before")


class TimelineOut(BaseModel):
    """One entry of an incident's timeline."""

    at: LocalTime
    kind: str
    actor: str
    detail: dict[str, Any]
    note: str | None


class IncidentDetail(IncidentOut):
    """An incident with its timeline."""

    timeline: list[TimelineOut]
    timeline_intact: bool = Field(description="the timeline's hash chain verifies")


class IncidentPage(BaseModel):
    """A page of incidents."""

    items: list[IncidentOut]
    next_cursor: str | None


class RegionLevel(BaseModel):
    """A region's most severe open warning."""

    level: str
    level_label: str
    level_rank: int


class OpenWarnings(BaseModel):
    """`GET /v1/incidents/open-warnings`: a jurisdiction's open incidents with a level, counted
    per level, and each region's most severe one (regions without any are left out)."""

    jurisdiction: str
    by_level: dict[str, int]
    by_region: dict[str, RegionLevel]


class AssessmentIn(BaseModel):
    """The leading group's assessment (领导小组评估) of an incident's level."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "confirm", "reason": "经研判，情况属实"},
                {"decision": "set_level", "level": "red", "reason": "涉及群体性上访风险，提级处置"},
                {"decision": "set_level", "level": None, "reason": "欠薪已结清，解除预警"},
            ]
        },
    )

    decision: Decision
    level: str | None = Field(
        default=None,
        description="with set_level: a level of the policy, or null to lift the warning",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

"""Grading's response and request bodies (CONTRACT.md, "Incidents")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.common.clock import LocalTime


class BodyRef(BaseModel):
    """A responsible body."""

    body_id: str
    name: str


class EnterpriseRef(BaseModel):
    """The employer an incident is about."""

    name: str | None
    credit_code: str | None
    industry: str | None


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
                }
            ]
        }
    )

    id: str
    jurisdiction: str
    policy: str
    kind: Literal["single", "cluster"]
    status: Literal["open", "closed"]
    level: str | None = Field(description="null while below every warning level")
    level_label: str | None
    level_rank: int
    provisional: bool = Field(description="an automatic level not yet assessed")
    reasons: list[str]
    routed_to: BodyRef | None
    issued_at: LocalTime | None
    report_ids: list[str]
    member_ids: list[str] = Field(description="for a cluster: the incidents it gathers")
    cluster_id: str | None = Field(description="the cluster this incident belongs to")
    corroboration: int = Field(description="distinct sources (信息多点交织印证)")
    sources: list[str]
    enterprise: EnterpriseRef
    category: str
    region: str
    regions: list[str]
    workers_involved: int
    amount_yuan: Decimal
    terminations: int
    collective_action: str
    extreme_individual: bool
    potential_major_impact: bool
    opened_at: LocalTime
    updated_at: LocalTime
    drill: bool


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

    decision: Literal["confirm", "set_level"]
    level: str | None = Field(
        default=None,
        description="with set_level: a level of the policy, or null to lift the warning",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

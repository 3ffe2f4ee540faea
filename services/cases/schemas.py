"""What the cases API takes and gives (CONTRACT.md, "Incident lifecycle and cases", "The
warning-information form"). Every text is bounded and refuses NUL; a missing or bad field is
a 422 naming it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from libs.common.contracts import BodyRef


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Short = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Long = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(_no_nul),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{3,30}$")]
BodyId = Annotated[str, StringConstraints(max_length=128, pattern=r"^[a-z][a-z0-9_.]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanIn(_In):
    """The disposal plan (处置预案)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "summary": "成立应急处置小组，约谈企业负责人，督促制定欠薪清偿计划",
                    "measures": ["约谈企业法定代表人", "劳动保障监察立案调查", "联系总包单位垫付"],
                    "handling_unit": "changchun.member.labor_inspection",
                    "lead": "王五",
                    "phone": "0431-88776655",
                }
            ]
        },
    )

    summary: Long
    measures: list[Long] = Field(min_length=1, max_length=50)
    handling_unit: BodyId | None = None
    lead: Short
    phone: Phone


class ApprovalIn(_In):
    """The approver's decision on the latest plan (报局长审定)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "approve", "note": "同意，按预案处置"}]},
    )

    decision: Literal["approve", "return"]
    note: Long | None = None


class ProgressIn(_In):
    """One progress entry of the response."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "measures_taken": "应急处置小组已抵达现场，与劳资双方代表座谈",
                    "effect": "工人情绪稳定，已返回工地",
                    "situation": "企业承诺三日内支付首期工资",
                    "next_steps": "跟踪工资支付情况",
                }
            ]
        },
    )

    measures_taken: Long
    effect: Long | None = None
    situation: Long | None = None
    next_steps: Long | None = None


class GovernmentReportIn(_In):
    """A written report to the government body (市政府专报)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"stage": "before", "content": "某建筑劳务公司拖欠60名农民工工资，已启动一级预警。"}
            ]
        },
    )

    stage: Literal["before", "during", "after"]
    content: Long


class CloseIn(_In):
    """How the case closed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"resolution": "resolved", "outcome": "工资已全部结清"}]},
    )

    resolution: Literal["resolved", "no_risk", "transferred"]
    outcome: Long | None = None


class FormIn(_In):
    """The warning-information form (预警信息情况表, seed 000's attachment)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reporting_unit": "珠山镇协调劳动关系三方机制",
                    "warning_info": "11月20日，珠山镇某公司约60名职工因欠薪聚集，要求支付工资",
                    "cause_analysis": "企业资金链断裂，拖欠工资三个月",
                    "situation_trend": "职工情绪激动，存在集体上访可能",
                    "measures_effect": "已约谈企业负责人，职工情绪基本稳定",
                    "next_plan": "督促企业制定清偿计划，跟踪落实",
                    "enterprise_info": "某公司，统一社会信用代码……，建筑业",
                    "responsible_person": "张三",
                    "filer": "李四",
                    "phone": "0718-1234567",
                }
            ]
        },
    )

    reporting_unit: Short | None = None
    warning_info: Long | None = None
    cause_analysis: Long
    situation_trend: Long
    measures_effect: Long
    next_plan: Long
    enterprise_info: Long | None = None
    responsible_person: Short
    filer: Short
    phone: Phone


class CaseOut(BaseModel):
    """A case (free text masked: phone and identity numbers)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6c…",
                    "incident_id": "5f0c…",
                    "jurisdiction": "changchun",
                    "level": "red",
                    "level_label": "一级红色预警",
                    "level_rank": 3,
                    "responsible_body": {"body_id": "changchun.leading_group", "name": "领导小组"},
                    "enterprise_name": "长春某建筑劳务有限公司",
                    "status": "open",
                    "plan": None,
                    "approval": None,
                    "progress": [],
                    "government_reports": [],
                    "form": None,
                    "closed": None,
                    "opened_at": "2026-11-20T01:30:00Z",
                    "updated_at": "2026-11-20T01:30:00Z",
                    "drill": False,
                }
            ]
        }
    )

    id: str
    incident_id: str
    jurisdiction: str
    level: str | None
    level_label: str | None
    level_rank: int
    responsible_body: BodyRef
    enterprise_name: str | None = None
    status: Literal["open", "awaiting_approval", "responding", "closed"]
    plan: dict[str, Any] | None
    approval: dict[str, Any] | None
    progress: list[dict[str, Any]]
    government_reports: list[dict[str, Any]]
    form: dict[str, Any] | None
    closed: dict[str, Any] | None
    allowed_steps: list[str] = []
    regions: list[str]
    opened_at: dt.datetime
    updated_at: dt.datetime
    drill: bool


class CasePage(BaseModel):
    """A page of cases, newest first."""

    items: list[CaseOut]
    next_cursor: str | None

"""Intake's request and response bodies (CONTRACT.md, "Reports" and "Hotline webhook")."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from libs.common.clock import Instant, LocalTime
from libs.common.enterprise import is_valid_credit_code
from services.intake.categories import Category

Source = Literal[
    "agency",
    "hotline_12345",
    "hotline_12333",
    "complaint",
    "media",
    "inspection",
    "campaign",
    "assignment",
    "monitoring",
    "other",
]
CollectiveAction = Literal["none", "possible", "occurred"]

Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text: refuse it here rather than fail on insert.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    return value


NoNul = AfterValidator(_no_nul)
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), NoNul]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9\- ]{2,30}$")
]


class Enterprise(BaseModel):
    """The employer the report is about."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    credit_code: str | None = Field(
        default=None,
        description="18-character unified social credit code (GB 32100-2015)",
        examples=["91220101MA17A2B3CT"],
    )
    industry: Text100 | None = None

    @field_validator("credit_code")
    @classmethod
    def _check_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if not is_valid_credit_code(code):
            raise ValueError(
                "not a valid unified social credit code: 18 characters of "
                "0-9 and A-Y (no I, O, S, V, Z) with a correct check character"
            )
        return code


class Person(BaseModel):
    """A reporter or caller: personal data, encrypted at rest and masked on output."""

    model_config = ConfigDict(extra="forbid")

    name: Text100 | None = None
    phone: Phone | None = None


class ReportIn(BaseModel):
    """A report of labor-dispute risk, as a partner agency submits it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "source": "agency",
                    "source_ref": "HR-2026-000123",
                    "jurisdiction": "changchun",
                    "region": "chaoyang",
                    "occurred_at": "2026-11-20T09:30:00+08:00",
                    "enterprise": {
                        "name": "长春某建筑劳务有限公司",
                        "credit_code": "91220101MA17A2B3CT",
                        "industry": "construction",
                    },
                    "category": "wage_arrears",
                    "workers_involved": 35,
                    "amount_yuan": "1200000.00",
                    "terminations": 0,
                    "collective_action": "possible",
                    "affected_regions": ["chaoyang"],
                    "extreme_individual": False,
                    "potential_major_impact": False,
                    "summary": "拖欠35名农民工工资约120万元",
                    "demands": "支付拖欠工资",
                    "location": "朝阳区某工地",
                    "reporter": {"name": "李某", "phone": "13800138000"},
                }
            ]
        },
    )

    source: Source
    source_ref: Id | None = Field(default=None, description="the sender's own id")
    jurisdiction: Id
    region: Id
    occurred_at: Instant = Field(description="with a time zone, e.g. +08:00")
    enterprise: Enterprise
    category: Category
    workers_involved: Count = 0
    amount_yuan: Money = Decimal(0)
    terminations: Count = Field(default=0, description="employment relations ended")
    collective_action: CollectiveAction = Field(
        default="none", description="mass incident or collective stoppage"
    )
    affected_regions: list[Id] | None = Field(
        default=None, max_length=50, description="defaults to [region]"
    )
    extreme_individual: bool = False
    potential_major_impact: bool = False
    summary: LongText | None = None
    demands: LongText | None = None
    location: LongText | None = None
    reporter: Person | None = None


# What a caller gave as a phone, as the platform passes it on ("匿名", "", an extension): the
# work order is kept whatever it says; it is sealed with the name and masked on output.
CallerPhone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]


class HotlineCaller(BaseModel):
    """The caller of a hotline work order."""

    model_config = ConfigDict(extra="ignore")

    name: Text100 | None = None
    phone: CallerPhone | None = None


class HotlineOrder(BaseModel):
    """A 12345 / 12333 hotline work order (工单), as the platform pushes it."""

    # The platform may add fields of its own; they are kept, not refused.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "order_no": "12345-20261121-000123",
                    "hotline": "12345",
                    "received_at": "2026-11-21T09:30:00+08:00",
                    "jurisdiction": "xuanen",
                    "area": "zhushan",
                    "caller": {"name": "张某", "phone": "13800138000"},
                    "content": "某公司拖欠30名工人工资",
                    "category": "欠薪",
                    "enterprise_name": "宣恩某建筑有限公司",
                    "workers_involved": 30,
                    "amount_yuan": 800000,
                    "collective_action": "possible",
                }
            ]
        },
    )

    order_no: Id
    hotline: Literal["12345", "12333"]
    received_at: Instant
    jurisdiction: Id
    area: Id
    caller: HotlineCaller | None = None
    content: LongText | None = None
    category: Text100 | None = None
    enterprise_name: ShortText | None = None
    enterprise_credit_code: str | None = None
    workers_involved: Count = 0
    amount_yuan: Money = Decimal(0)
    terminations: Count = 0
    collective_action: CollectiveAction = "none"

    @field_validator("enterprise_credit_code")
    @classmethod
    def _check_character(cls, value: str | None) -> str | None:
        return Enterprise._check_character(value)


class EnterpriseOut(BaseModel):
    """The employer, as stored."""

    name: str | None
    credit_code: str | None
    industry: str | None


class PersonOut(BaseModel):
    """A reporter or caller, masked."""

    name: str | None = Field(examples=["张*"])
    phone: str | None = Field(examples=["138****8000"])


class ReportOut(BaseModel):
    """A report as intake holds it; personal data masked."""

    id: str
    status: Literal["received"] = "received"
    channel: Literal["rest", "webhook", "monitoring"]
    source: str
    source_ref: str | None
    jurisdiction: str
    region: str
    affected_regions: list[str]
    occurred_at: LocalTime
    received_at: LocalTime
    enterprise: EnterpriseOut
    category: str
    category_text: str | None = Field(description="the hotline's own category, if mapped")
    workers_involved: int
    amount_yuan: Decimal
    terminations: int
    collective_action: str
    extreme_individual: bool
    potential_major_impact: bool
    summary: str | None
    demands: str | None
    location: str | None
    reporter: PersonOut | None
    incident_id: str | None = Field(description="null until grading has placed the report")
    level: str | None = Field(
        default=None, description="its incident's warning level; null until graded"
    )
    level_label: str | None = Field(default=None, examples=["二级黄色预警"])
    incident_status: Literal["open", "closed"] | None = Field(
        default=None, description="its incident's status; null until graded"
    )


class RevealIn(BaseModel):
    """Why someone reads a report's personal data (12345 回访: calling the caller back)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoNul
    ]


class PersonInClear(BaseModel):
    """A reporter or caller, in clear: only for a reveal."""

    name: str | None
    phone: str | None


class RevealedReport(ReportOut):
    """A report with its reporter's or caller's personal data in clear (null once erased)."""

    reporter: PersonInClear | None  # type: ignore[assignment]


class ReportPage(BaseModel):
    """A page of reports."""

    items: list[ReportOut]
    next_cursor: str | None


class WebhookAccepted(BaseModel):
    """The answer to an accepted (or already accepted) work order."""

    report_id: str


class RegionOut(BaseModel):
    """A region of a jurisdiction."""

    id: str
    name: str


class BodyOut(BaseModel):
    """A responsible body."""

    id: str
    name: str
    parent: str | None
    region: str | None
    external: bool


class LevelOut(BaseModel):
    """A warning level of the jurisdiction's policy."""

    id: str
    label: str
    rank: int


class JurisdictionOut(BaseModel):
    """A jurisdiction with its regions, bodies and policy."""

    id: str
    name: str
    policy: str
    levels: list[LevelOut]
    regions: list[RegionOut]
    bodies: list[BodyOut]


class JurisdictionList(BaseModel):
    """Every jurisdiction this deployment serves."""

    items: list[JurisdictionOut]
    next_cursor: str | None = None

"""Monitoring's request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from libs.common.clock import LocalTime
from libs.common.contracts import EnterpriseRef

Reason = Literal["new_economy", "trade_friction", "restructuring", "bankruptcy", "other"]


class EnterpriseIn(BaseModel):
    """`PUT /v1/monitoring/enterprises/{credit_code}`: an enterprise put under monitoring."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["长春某汽车零部件有限公司"])
    jurisdiction: str = Field(max_length=64, examples=["changchun"])
    region: str = Field(max_length=64, examples=["chaoyang"])
    industry: str | None = Field(default=None, max_length=100, examples=["manufacturing"])
    headcount: int | None = Field(default=None, ge=0, le=5_000_000)
    reason: Reason = Field(
        description="new_economy 新业态, trade_friction 受贸易摩擦影响, restructuring "
        "转制改制、兼并重组, bankruptcy 关闭破产, other"
    )
    note: str | None = Field(default=None, max_length=2000)


class ObservationOut(BaseModel):
    """One month's figures as received (the current revision of its sender)."""

    period: str
    headcount: int
    wages_due_yuan: str
    wages_paid_yuan: str
    social_insurance_arrears_months: int
    layoffs: int
    disputes: int
    revision: int
    received_at: LocalTime


class AlertOut(BaseModel):
    """An alert: what fired on which month's figure, and why."""

    id: str
    credit_code: str
    enterprise: EnterpriseRef
    jurisdiction: str
    region: str
    period: str
    kind: Literal["threshold", "anomaly", "missing"]
    indicator: str
    value: str | None
    reasons: list[str]
    reasons_zh: list[str] = Field(description="the same reasons in Chinese, for people")
    report_id: str | None = Field(description="the report intake filed (null until filed)")
    created_at: LocalTime
    drill: bool


class EnterpriseOut(BaseModel):
    """A monitored enterprise as the register holds it."""

    credit_code: str
    name: str
    jurisdiction: str
    region: str
    industry: str | None
    headcount: int | None
    reason: str
    note: str | None
    monitored: bool = Field(description="false once monitoring ended (DELETE)")
    registered_at: LocalTime
    updated_at: LocalTime
    ended_at: LocalTime | None


class EnterpriseDetail(EnterpriseOut):
    """An enterprise with its recent observations and alerts."""

    observations: list[ObservationOut]
    alerts: list[AlertOut]


class EnterprisePage(BaseModel):
    """A page of the register."""

    items: list[EnterpriseOut]
    next_cursor: str | None


class AlertPage(BaseModel):
    """A page of alerts, newest first."""

    items: list[AlertOut]
    next_cursor: str | None


class Accepted(BaseModel):
    """An upload stored: how many rows, and the alerts its figures raised."""

    accepted: int
    alerts: list[AlertOut]

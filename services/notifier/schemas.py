"""The notifier's request and response bodies (CONTRACT.md, "Notifications")."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from libs.common.clock import LocalTime
from libs.common.targets import target_problem, webhook_secret_problem
from services.notifier.domain import ClosedReason, Kind, Status, Via


class AcknowledgementOut(BaseModel):
    """Who acknowledged, when, how, and what they said."""

    at: LocalTime
    by: str = Field(description="the key or user; for a link, the body it reached")
    note: str | None
    via: Via


class NotificationOut(BaseModel):
    """A warning as one body received it, and where its deadline stands."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "…",
                    "incident_id": "…",
                    "body_id": "xuanen.zhushan.tripartite",
                    "kind": "responsible",
                    "level": "level1",
                    "level_label": "一级预警",
                    "issued_at": "2026-11-21T09:31:00+08:00",
                    "due_at": "2026-11-21T15:31:00+08:00",
                    "status": "acknowledged",
                    "closed_reason": None,
                    "closed_at": None,
                    "acknowledged_at": "2026-11-21T10:02:00+08:00",
                    "acknowledged_by": "珠山镇值班 (xuanen.zhushan.tripartite)",
                    "acknowledgement": {
                        "at": "2026-11-21T10:02:00+08:00",
                        "by": "珠山镇值班 (xuanen.zhushan.tripartite)",
                        "note": "已收到，正在处置",
                        "via": "api",
                    },
                    "late": False,
                    "escalated_from": None,
                    "escalation_chain": [
                        "xuanen.county.tripartite",
                        "xuanen.prefecture.tripartite",
                    ],
                    "regions": ["zhushan"],
                    "drill": False,
                }
            ]
        }
    )

    id: str
    incident_id: str
    jurisdiction: str
    body_id: str
    kind: Kind = Field(
        description="responsible: must acknowledge by due_at; copy: for information, "
        "closed as soon as it is made"
    )
    level: str
    level_label: str
    level_rank: int
    issued_at: LocalTime
    due_at: LocalTime | None
    status: Status
    closed_reason: ClosedReason | None = Field(
        description="superseded (the level rose), lifted (assessment lowered or lifted it), "
        "case_closed, copy"
    )
    closed_at: LocalTime | None
    acknowledged_at: LocalTime | None
    acknowledged_by: str | None = Field(description="the key or user that acknowledged")
    acknowledgement: AcknowledgementOut | None
    late: bool = Field(description="acknowledged after due_at")
    escalated_from: str | None
    escalation_chain: list[str] = Field(description="the bodies above, frozen at issue")
    regions: list[str] = Field(description="the incident's regions")
    reminders_sent: int
    drill: bool


class NotificationPage(BaseModel):
    """A page of notifications."""

    items: list[NotificationOut]
    next_cursor: str | None


class AckIn(BaseModel):
    """An acknowledgement: the body has received the warning and is on it."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class BodyOnTime(BaseModel):
    """How one body keeps its reporting limits."""

    body_id: str
    total: int
    acknowledged_on_time: int
    acknowledged_late: int
    overdue: int
    pending: int
    on_time_rate: float | None = Field(description="on time / decided; null if none decided")


class OnTimeStats(BaseModel):
    """On-time statistics per body."""

    items: list[BodyOnTime]
    next_cursor: str | None = None


class ChannelIn(BaseModel):
    """One way to reach a body; checked when saved, so that a bad one is refused here rather
    than failing every delivery later."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook", "email", "sms"]
    target: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
    ] = Field(description="webhook URL (http/https), email address or mobile number")
    secret: str | None = Field(
        default=None, description="webhook signing secret, whsec_ + base64 of 16 bytes or more"
    )
    enabled: bool = True

    @field_validator("target")
    @classmethod
    def _target(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind == "webhook" and (problem := target_problem(value, allow_local=True)):
            raise ValueError(f"a webhook target {problem}")
        if kind == "email" and not _EMAIL.fullmatch(value):
            raise ValueError("not an email address (name@example.gov.cn)")
        if kind == "sms" and not _MOBILE.fullmatch(re.sub(r"[ -]", "", value)):
            raise ValueError("not a mainland mobile number (e.g. 13800138000)")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("type") != "webhook":
            raise ValueError("only a webhook channel has a secret")
        if problem := webhook_secret_problem(value):
            raise ValueError(problem)
        return value


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_MOBILE = re.compile(r"(\+?86)?1[3-9]\d{9}")


class ChannelsIn(BaseModel):
    """Every channel of a body (replaces the ones it had)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channels": [
                        {
                            "type": "webhook",
                            "target": "https://oa.example.gov.cn/hooks/laborwatch",
                            "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                        },
                        {"type": "email", "target": "office@example.gov.cn"},
                        {"type": "sms", "target": "13800138000"},
                    ]
                }
            ]
        },
    )

    channels: list[ChannelIn] = Field(max_length=20)


class ChannelOut(BaseModel):
    """A channel as listed (secrets never shown)."""

    id: int
    type: str
    target: str
    has_secret: bool
    enabled: bool


class ChannelList(BaseModel):
    """A body's channels."""

    items: list[ChannelOut]
    next_cursor: str | None = None

"""Sharing's request and response bodies (CONTRACT.md, "Sharing with partner departments")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.common.clock import LocalTime

EventName = Literal["incident.warning", "incident.closed", "case.closed", "monitoring.alert"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PlaceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]


class SubscriptionIn(BaseModel):
    """A partner department's subscription."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "县信访局预警推送",
                    "department": "宣恩县信访局",
                    "jurisdiction": "xuanen",
                    "url": "https://xfj.example.gov.cn/laborwatch/hook",
                    "events": ["incident.warning", "incident.closed"],
                    "min_level_rank": 1,
                    "regions": ["zhushan", "jiaoyuan"],
                    "categories": None,
                }
            ]
        },
    )

    name: Name
    department: Name
    jurisdiction: Annotated[str, StringConstraints(max_length=64)]
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    events: list[EventName] = Field(min_length=1, max_length=4)
    min_level_rank: int = Field(default=0, ge=0, le=10)
    regions: list[PlaceId] | None = Field(default=None, max_length=100)
    categories: list[PlaceId] | None = Field(default=None, max_length=100)


class SubscriptionOut(BaseModel):
    """A subscription as the API shows it (never its secret)."""

    id: str
    name: str
    department: str
    jurisdiction: str
    url: str
    events: list[str]
    min_level_rank: int
    regions: list[str] | None
    categories: list[str] | None
    status: Literal["active", "paused"] = Field(
        description="paused: a delivery failed for its whole retry window; resume or redeliver"
    )
    paused_at: LocalTime | None
    paused_reason: str | None
    consecutive_failures: int
    last_delivered_at: LocalTime | None
    previous_secret_until: LocalTime | None = Field(
        description="until when the previous secret still signs beside the current one"
    )
    created_at: LocalTime


class SubscriptionCreated(SubscriptionOut):
    """A new subscription and its secret, shown this once."""

    secret: str = Field(description="`whsec_…`: shown once; verify signatures with it")


class SubscriptionPage(BaseModel):
    """A page of subscriptions, newest first."""

    items: list[SubscriptionOut]
    next_cursor: str | None


class SecretRotated(BaseModel):
    """The new secret, shown once; the previous one still signs until `previous_secret_until`."""

    id: str
    secret: str
    previous_secret_until: LocalTime


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to a subscription."""

    event_id: str
    type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    delivered_at: LocalTime | None
    next_attempt_at: LocalTime | None = Field(description="for a pending delivery")
    created_at: LocalTime


class DeliveryPage(BaseModel):
    """A page of a subscription's deliveries, newest first."""

    items: list[DeliveryOut]
    next_cursor: str | None

"""The monitoring service's events, on `laborwatch.monitoring.alert.v1` (CONTRACT.md,
"Monitored enterprises").

Intake turns each threshold or anomaly alert into one report (`source: "monitoring"`,
`source_ref` = the alert id): intake alone writes reports. A `missing` alert files no
report (`report` is None); the notifier shares alerts with subscriptions that name
`monitoring.alert`.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from libs.common.contracts.base import EventData
from libs.common.contracts.figures import ReportFigures
from libs.common.contracts.incidents import EnterpriseRef
from libs.common.events import MONITORING_ALERT

AlertKind = Literal["threshold", "anomaly", "missing"]
Indicator = Literal[
    "headcount",
    "wages_unpaid",
    "wages_paid",  # an anomaly: wages paid down (数据异动)
    "social_insurance_arrears_months",
    "layoffs",
    "disputes",
    "observation",  # a `missing` alert: no observation for the period
]


class AlertReport(ReportFigures):
    """The report an alert files: its category and the figures its indicator gives."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    category: str
    summary: str  # generated from the alert's reasons, never from anyone's free text


class AlertData(BaseModel):
    """One alert as `GET /v1/monitoring/alerts` shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    jurisdiction: str
    region: str
    credit_code: str
    enterprise: EnterpriseRef
    period: str  # YYYY-MM
    kind: AlertKind
    indicator: Indicator
    value: str | None  # the observed value, as a decimal string
    reasons: list[str]
    reasons_zh: list[str]
    created_at: dt.datetime
    drill: bool = False


class MonitoringAlert(EventData):
    """`laborwatch.monitoring.alert.v1`: a monitored enterprise's figures crossed a line."""

    type_: ClassVar[str] = MONITORING_ALERT
    topic: ClassVar[str] = MONITORING_ALERT
    source_service: ClassVar[str] = "monitoring"

    alert: AlertData
    report: AlertReport | None  # None for `missing`: no report is filed

"""Intake's events, on `laborwatch.report.received.v1`."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import ConfigDict

from libs.common.contracts.base import EventData
from libs.common.contracts.figures import ReportFigures
from libs.common.contracts.incidents import EnterpriseRef
from libs.common.events import REPORT_RECEIVED


class ReportData(ReportFigures):
    """A report as it leaves intake: every figure, no personal data (free text masked)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    channel: Literal["rest", "webhook", "monitoring"]
    source: str
    source_ref: str | None
    jurisdiction: str
    region: str
    affected_regions: list[str]
    occurred_at: dt.datetime
    received_at: dt.datetime
    enterprise: EnterpriseRef
    category: str
    category_text: str | None
    # The six figures come from `ReportFigures`.
    summary: str | None
    demands: str | None
    location: str | None
    drill: bool = False


class ReportReceived(EventData):
    """`laborwatch.report.received.v1`: a report was accepted."""

    type_: ClassVar[str] = REPORT_RECEIVED
    topic: ClassVar[str] = REPORT_RECEIVED
    source_service: ClassVar[str] = "intake"

    report: ReportData


class ReportRevealed(EventData):
    """`laborwatch.report.revealed.v1`: someone read a report's personal data in clear to
    call the caller back (12345 回访); grading puts it in the incident's timeline."""

    type_: ClassVar[str] = "laborwatch.report.revealed.v1"
    topic: ClassVar[str] = REPORT_RECEIVED
    source_service: ClassVar[str] = "intake"

    report_id: str
    incident_id: str | None
    jurisdiction: str
    by: str
    reason: str
    at: dt.datetime

"""Insight's API shapes (CONTRACT.md, "Statistics, briefings and review meetings")."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReportStats(BaseModel):
    """Reports received in the range."""

    total: int
    by_source: dict[str, int]
    by_category: dict[str, int]
    by_region: dict[str, int]


class IncidentStats(BaseModel):
    """Single incidents opened in the range, at their highest level; clusters apart."""

    total: int
    by_level: dict[str, int]
    lifted: int
    clusters: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_industry: dict[str, int]
    workers_involved: int
    amount_yuan: str


class BodyStats(BaseModel):
    """One body's notifications due in the range."""

    due: int
    on_time: int
    late: int


class NotificationStats(BaseModel):
    """Responsible notifications due in the range."""

    due: int
    on_time: int
    late: int
    open: int
    on_time_rate: float | None
    by_body: dict[str, BodyStats]


class CaseStats(BaseModel):
    """Cases opened and closed in the range."""

    opened: int
    closed: int
    median_hours_to_close: float | None


class MonthStats(BaseModel):
    """One month of the range."""

    month: str
    reports: int
    incidents: int
    warnings: int
    by_level: dict[str, int]  # the month's single incidents by the highest level they reached


class Statistics(BaseModel):
    """`GET /v1/statistics`."""

    model_config = ConfigDict(populate_by_name=True)

    jurisdiction: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    reports: ReportStats
    incidents: IncidentStats
    notifications: NotificationStats
    cases: CaseStats
    by_month: list[MonthStats]


class ReviewIn(BaseModel):
    """A review meeting to record (研判会商, 预警分析会)."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction: str = Field(max_length=64)
    held_at: dt.datetime
    kind: Literal["regular", "special"]
    attendees: list[str] = Field(max_length=200)
    incident_ids: list[str] = Field(default_factory=list, max_length=500)
    conclusions: str = Field(max_length=20000)
    measures: str = Field(max_length=20000)


class ReviewOut(BaseModel):
    """A recorded review meeting."""

    id: str
    jurisdiction: str
    held_at: dt.datetime
    kind: str
    attendees: list[str]
    incident_ids: list[str]
    conclusions: str
    measures: str
    recorded_by: str
    recorded_at: dt.datetime
    drill: bool


class ReviewList(BaseModel):
    """Review meetings, newest first."""

    items: list[ReviewOut]


class NarrativeIn(BaseModel):
    """The office's own analysis (形势研判) for a briefing."""

    model_config = ConfigDict(extra="forbid")

    factors: str = Field(default="", max_length=20000)  # 影响因素
    risks: str = Field(default="", max_length=20000)  # 重大风险
    trends: str = Field(default="", max_length=20000)  # 发展趋势
    next_steps: str = Field(default="", max_length=20000)  # 下一步工作


class IssueOut(BaseModel):
    """A briefing frozen as issue N of its year."""

    jurisdiction: str
    period: str
    number: int
    issued_at: dt.datetime

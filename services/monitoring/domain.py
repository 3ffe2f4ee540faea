"""Monitoring's domain, without I/O: months (periods), when a month's figures are due, and
the report each alert files (its category and the figures its indicator gives)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from libs.common.contracts import AlertReport
from services.monitoring.rules import Figures, Finding

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# Why an enterprise is monitored (CONTRACT.md): 新业态, 受贸易摩擦影响, 转制改制、兼并重组,
# 关闭破产.
REASONS = ("new_economy", "trade_friction", "restructuring", "bankruptcy", "other")

# The report each indicator's alert files: its category (CONTRACT.md).
CATEGORY = {
    "wages_unpaid": "wage_arrears",
    "wages_paid": "wage_arrears",
    "social_insurance_arrears_months": "social_insurance",
    "layoffs": "layoff",
    "headcount": "layoff",
    "disputes": "labor_contract",
}


def parse_period(period: str) -> tuple[int, int]:
    """A `YYYY-MM` period as (year, month); ValueError if it is not one."""
    found = PERIOD.match(period)
    if found is None:
        raise ValueError("a period is a month written YYYY-MM")
    return int(found[1]), int(found[2])


def shift(period: str, months: int) -> str:
    """The period `months` later (earlier, if negative)."""
    year, month = parse_period(period)
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_of(at: dt.datetime, tz: ZoneInfo) -> str:
    """The month a moment falls in, where the jurisdiction is."""
    local = at.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


def missing_due(period: str, *, tz: ZoneInfo, day: int) -> dt.datetime:
    """When a month's figures are late: the end of the `day`th of the next month, there."""
    year, month = parse_period(shift(period, 1))
    return dt.datetime(year, month, day, tzinfo=tz) + dt.timedelta(days=1)


def first_watched(registered_at: dt.datetime, tz: ZoneInfo) -> str:
    """The first month an enterprise must report: the month after it was registered."""
    return shift(period_of(registered_at, tz), 1)


def alert_report(finding: Finding, figures: Figures, reasons_zh: list[str]) -> AlertReport:
    """The report an alert files: the category and figures its indicator gives, no flags,
    `collective_action: none`, and a summary made of its reasons (no one's free text)."""
    ind = finding.indicator
    workers, amount, terminations = 0, Decimal(0), 0
    if ind in ("wages_unpaid", "wages_paid", "social_insurance_arrears_months"):
        workers = figures.headcount
    if ind in ("wages_unpaid", "wages_paid"):
        amount = figures.wages_unpaid
    if ind == "layoffs":
        workers = terminations = figures.layoffs
    if ind == "headcount":
        # The drop from what it is measured against (the previous month, or the median).
        baseline = finding.baseline or Decimal(figures.headcount)
        terminations = max(int(baseline) - figures.headcount, 0)
    if ind == "disputes":
        workers = figures.disputes
    return AlertReport(
        category=CATEGORY[ind],
        workers_involved=workers,
        amount_yuan=amount,
        terminations=terminations,
        collective_action="none",
        extreme_individual=False,
        potential_major_impact=False,
        summary="定点监测"
        + ("触线警报：" if finding.kind == "threshold" else "数据异动：")
        + "；".join(reasons_zh),
    )

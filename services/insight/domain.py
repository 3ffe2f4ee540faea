"""Insight's rules, pure: periods, what each fact counts for, and how numbers are written.

Counting (CONTRACT.md, "Statistics, briefings and review meetings"): a report counts on the
day it was received; an incident (`kind: single`) on the day it opened, in the region of its
first report, at the highest level it reached; a cluster counts apart; a notification on the
day it is due. Days are days in the jurisdiction's time zone.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

ONE_DAY = dt.timedelta(days=1)
MAX_SPAN_DAYS = 3653  # ten years, leap days included
_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|H([12])|(0[1-9]|1[0-2]))$")
_QUARTERS = "一二三四"


class BadPeriod(ValueError):
    """A period or date range that cannot be counted (the API answers 422)."""


@dataclass(frozen=True)
class Period:
    """A quarter (`2026-Q4`), a half year (`2026-H2`) or a month (`2026-11`)."""

    code: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def kind(self) -> str:
        """`quarter`, `half` or `month`."""
        return {"Q": "quarter", "H": "half"}.get(self.code[5], "month")

    @property
    def label(self) -> str:
        """The period in Chinese: 2026年第四季度, 2026年下半年, 2026年11月."""
        year, rest = self.code[:4], self.code[5:]
        if rest[0] == "Q":
            return f"{year}年第{_QUARTERS[int(rest[1]) - 1]}季度"
        if rest[0] == "H":
            return f"{year}年{'上' if rest[1] == '1' else '下'}半年"
        return f"{year}年{int(rest)}月"

    def shifted(self, steps: int) -> Period:
        """The period `steps` periods of the same kind before (negative) or after."""
        year = int(self.code[:4])
        size = {"quarter": 3, "half": 6, "month": 1}[self.kind]
        index = (self.start.month - 1) // size + steps
        year += index // (12 // size)
        index %= 12 // size
        code = {"quarter": f"{year}-Q{index + 1}", "half": f"{year}-H{index + 1}"}.get(
            self.kind, f"{year}-{index + 1:02d}"
        )
        return parse_period(code)

    def previous(self) -> Period:
        """The period just before."""
        return self.shifted(-1)

    def year_before(self) -> Period:
        """The same period a year before."""
        return parse_period(f"{int(self.code[:4]) - 1}{self.code[4:]}")


def parse_period(code: str) -> Period:
    """Read `2026-Q4`, `2026-H2` or `2026-11`; BadPeriod otherwise."""
    match = _PERIOD.match(code)
    if match is None:
        raise BadPeriod(f"period {code!r} is not YYYY-Qn, YYYY-Hn or YYYY-MM")
    year = int(match[1])
    if match[2]:
        first, months = (int(match[2]) - 1) * 3 + 1, 3
    elif match[3]:
        first, months = (int(match[3]) - 1) * 6 + 1, 6
    else:
        first, months = int(match[4]), 1
    start = dt.date(year, first, 1)
    after = first + months
    end = dt.date(year + (after > 12), (after - 1) % 12 + 1, 1) - dt.timedelta(days=1)
    return Period(code, start, end)


def check_range(start: dt.date, end: dt.date) -> None:
    """A statistics range: `from` not after `to`, at most ten years."""
    if start > end:
        raise BadPeriod("from is after to")
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise BadPeriod("a range of at most ten years")


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """Every month `YYYY-MM` the range touches, in order."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the whole months inside a range, or None if it holds none."""
    first = start if start.day == 1 else parse_period(start.strftime("%Y-%m")).end + ONE_DAY
    last = end if (end + ONE_DAY).day == 1 else end.replace(day=1) - ONE_DAY
    return (first, last) if first <= last else None


def local_day(at: dt.datetime, timezone: str) -> dt.date:
    """The day an instant falls on in the jurisdiction's time zone."""
    return at.astimezone(ZoneInfo(timezone)).date()


# ------------------------------------------------------------------------- what facts count

Contribution = dict[tuple[str, str], Decimal]


def report_counts(row: Mapping[str, Any]) -> Contribution:
    """What a report adds to its day."""
    return {
        ("reports", ""): Decimal(1),
        ("reports.source", row["source"]): Decimal(1),
        ("reports.category", row["category"]): Decimal(1),
        ("reports.region", row["region"]): Decimal(1),
    }


def incident_counts(row: Mapping[str, Any]) -> Contribution:
    """What an incident adds to the day it opened: a cluster counts only as a cluster; a
    single incident at its highest level, in its first report's region."""
    if row["kind"] == "cluster":
        return {("clusters", ""): Decimal(1)}
    counts: Contribution = {
        ("incidents", ""): Decimal(1),
        ("incidents.level", row["top_level"] or "none"): Decimal(1),
        ("incidents.workers", ""): Decimal(row["workers"]),
        ("incidents.amount", ""): Decimal(row["amount_yuan"]),
    }
    for measure, name in (("category", "category"), ("region", "region"), ("industry", "industry")):
        if row[name]:
            counts[(f"incidents.{measure}", row[name])] = Decimal(1)
    if row["lifted"]:
        counts[("incidents.lifted", "")] = Decimal(1)
    if row["top_rank"] > 0:
        counts[("warnings", "")] = Decimal(1)
    return counts


def notification_counts(row: Mapping[str, Any]) -> Contribution:
    """What a notification adds to the day it falls due: responsible ones only, and none closed
    before its due time unacknowledged. Whether an unacknowledged one is late or still open
    depends on the time of asking, so it counts as `unacked` here (see the store)."""
    due, acknowledged = row["due_at"], row["acknowledged_at"]
    if row["kind"] != "responsible" or due is None:
        return {}
    closed_early = row["closed_at"] is None or row["closed_at"] < due
    if acknowledged is None and row["status"] == "closed" and closed_early:
        return {}
    outcome = "unacked" if acknowledged is None else ("on_time" if acknowledged <= due else "late")
    body = row["body_id"]
    return {("notifications.due", body): Decimal(1), (f"notifications.{outcome}", body): Decimal(1)}


def difference(before: Contribution, after: Contribution) -> Contribution:
    """What changes when a fact's contribution goes from `before` to `after` (zeros left out)."""
    keys = before.keys() | after.keys()
    changes = {k: after.get(k, Decimal(0)) - before.get(k, Decimal(0)) for k in keys}
    return {k: v for k, v in changes.items() if v}


def merged_incident(
    old: Mapping[str, Any] | None, incident: Any, warning: Any | None, timezone: str
) -> dict[str, Any]:
    """An incident's row after an event: the highest level kept, `lifted` once an
    assessment lifted or lowered it."""
    top_rank, top_level = (old["top_rank"], old["top_level"]) if old else (0, None)
    top_label = old["top_label"] if old else None
    if incident.level_rank > top_rank:
        top_rank, top_level, top_label = incident.level_rank, incident.level, incident.level_label
    lowered = warning is not None and (
        warning.lifted
        or (warning.by_assessment and warning.level_rank < warning.previous_level_rank)
    )
    return {
        "id": incident.id,
        "jurisdiction": incident.jurisdiction,
        "kind": incident.kind,
        "day": local_day(incident.opened_at, timezone),
        "opened_at": incident.opened_at,
        "region": incident.region,
        "category": incident.category,
        "industry": incident.enterprise.industry,
        "enterprise_name": incident.enterprise.name,
        "top_level": top_level,
        "top_rank": top_rank,
        "top_label": top_label,
        "level": incident.level,
        "level_label": incident.level_label,
        "lifted": bool(old and old["lifted"]) or lowered,
        "workers": incident.workers_involved,
        "amount_yuan": incident.amount_yuan,
        "status": incident.status,
        "routed_to": incident.routed_to.body_id if incident.routed_to else None,
    }


def median_hours(durations: list[dt.timedelta]) -> float | None:
    """The median of durations, in hours (two decimals), or None for none."""
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 3600, 2)


def rate(part: int, whole: int) -> float | None:
    """part / whole, four decimals; None when there is nothing to divide."""
    return None if whole == 0 else round(part / whole, 4)


# ------------------------------------------------------------------ numbers as people read them


def yuan_string(amount: Decimal) -> str:
    """Yuan as the API writes them: '1200000', or '1200000.50' where there are fen."""
    return str(amount.quantize(Decimal(1))) if amount == amount.to_integral() else f"{amount:.2f}"


def wan_yuan(amount: Decimal | str | int) -> str:
    """Yuan as 万元, two decimals: 5000000 → '500.00万元'."""
    return f"{Decimal(amount) / 10000:,.2f}万元"


def chinese_date(day: dt.date) -> str:
    """2026年12月2日."""
    return f"{day.year}年{day.month}月{day.day}日"


def change(now: float, before: float, *, points: bool = False) -> str:
    """How a figure moved: '增25（+18.4%）', '减5（-5.7%）', '持平', '增3（上期为0）'; a rate
    moves in percentage points: '降12.6个百分点'."""
    if now == before:
        return "持平"
    diff = now - before
    if points:
        return f"{'升' if diff > 0 else '降'}{abs(diff):.1f}个百分点"
    amount = f"{abs(diff):,.2f}".rstrip("0").rstrip(".")
    word = "增" if diff > 0 else "减"
    if before == 0:
        return f"{word}{amount}（上期为0）"
    return f"{word}{amount}（{diff / before * 100:+.1f}%）"

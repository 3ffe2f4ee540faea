"""A briefing's content as plain data: the quarterly briefing (季度简报, seed 002 五(二)), the
half-year analysis report (半年监测分析报告, seed 000 三(二)), or a month's.

A period that is still running is counted up to today (截至 today) and compared with the same
number of days from the start of the previous period and of the same period a year before.
The documents (`documents.py`, `workbook.py`) only lay this out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.insight import domain, store, words
from services.insight.domain import Period
from services.insight.schemas import ReviewOut
from services.insight.service import Insight

# The headline figures: (name, how to read it from the statistics, unit).
_HEADLINE: tuple[tuple[str, str], ...] = (
    ("受理风险信息（条）", "reports.total"),
    ("风险事件（起）", "incidents.total"),
    ("发布预警（起）", "warnings"),
    ("集群性事件（起）", "incidents.clusters"),
    ("涉及职工（人）", "incidents.workers_involved"),
    ("涉及金额（万元）", "amount"),
    ("应报送通知（件）", "notifications.due"),
    ("按时报送率（%）", "rate"),
    ("新立处置案件（件）", "cases.opened"),
    ("办结案件（件）", "cases.closed"),
)


@dataclass(frozen=True)
class Headline:
    """One headline figure this period, the previous one and a year before."""

    name: str
    now: str
    previous: str
    year_before: str
    change_previous: str
    change_year: str
    values: tuple[float | None, float | None, float | None]  # now, previous, a year before


@dataclass
class Briefing:
    """Everything a briefing says, ready to lay out."""

    jurisdiction: str
    place: str  # 长春市
    period: Period
    as_of: dt.date  # the last day counted
    running: bool
    status: str  # 草稿, or 第N期
    stats: dict[str, Any]
    headline: list[Headline]
    breakdowns: dict[str, list[tuple[str, int]]]  # 预警情况: by level, category, region, …
    monthly_levels: dict[str, dict[str, int]]  # month → level label → count
    incidents: list[dict[str, Any]]
    on_time: list[tuple[str, int, int, int, str]]  # body, due, on time, late, rate
    monitoring: dict[str, Any]
    reviews: list[ReviewOut]
    narrative: dict[str, str]
    level_labels: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"

    @property
    def document(self) -> str:
        """季度简报, 半年监测分析报告 or 月度简报."""
        return words.DOCUMENTS[self.period.kind]

    @property
    def title(self) -> str:
        """长春市劳动关系领域风险监测预警季度简报."""
        return f"{self.place}劳动关系领域风险监测预警{self.document}"

    @property
    def subtitle(self) -> str:
        """2026年第四季度（截至2026年12月2日）."""
        until = f"（截至{domain.chinese_date(self.as_of)}）" if self.running else ""
        return f"{self.period.label}{until}"

    @property
    def empty(self) -> bool:
        """Nothing was received, opened or due in the period."""
        s = self.stats
        return not (s["reports"]["total"] or s["incidents"]["total"] or s["notifications"]["due"])


def _figure(stats: dict[str, Any], path: str) -> float:
    if path == "warnings":
        return float(sum(v for k, v in stats["incidents"]["by_level"].items() if k != "none"))
    if path == "amount":
        return float(Decimal(stats["incidents"]["amount_yuan"]) / 10000)
    if path == "rate":
        rate = stats["notifications"]["on_time_rate"]
        return -1.0 if rate is None else round(rate * 100, 1)
    part, name = path.split(".")
    return float(stats[part][name])


def _shown(path: str, value: float) -> str:
    if path == "rate":
        return "—" if value < 0 else f"{value:.1f}"
    if path == "amount":
        return f"{value:,.2f}"
    return f"{value:g}"


def _headline(now: dict[str, Any], prev: dict[str, Any], year: dict[str, Any]) -> list[Headline]:
    rows = []
    for name, path in _HEADLINE:
        a, b, c = (_figure(s, path) for s in (now, prev, year))
        rate = path == "rate"
        rows.append(
            Headline(
                name,
                _shown(path, a),
                _shown(path, b),
                _shown(path, c),
                "—" if rate and min(a, b) < 0 else domain.change(a, b, points=rate),
                "—" if rate and min(a, c) < 0 else domain.change(a, c, points=rate),
                tuple(None if rate and v < 0 else v for v in (a, b, c)),  # type: ignore[arg-type]
            )
        )
    return rows


def _same_span(period: Period, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    return period.start, min(period.end, period.start + (end - start))


async def gather(insight: Insight, jurisdiction: str, period: Period, today: dt.date) -> Briefing:
    """Count what a briefing shows (the period has begun: checked by the caller)."""
    found = insight.registry.get(jurisdiction)
    assert found is not None
    end = min(period.end, today)
    stats = await insight.statistics(jurisdiction, period.start, end)
    before = await insight.statistics(
        jurisdiction, *_same_span(period.previous(), period.start, end)
    )
    year = await insight.statistics(
        jurisdiction, *_same_span(period.year_before(), period.start, end)
    )
    labels = {lvl.id: lvl.label for lvl in found.policy.levels} | {"none": "未达预警"}
    regions = {r.id: r.name for r in found.regions}
    bodies = {b.id: b.name for b in found.bodies}
    async with insight.sessionmaker() as session:
        monthly = await store.monthly_levels(session, jurisdiction, period.start, end)
        incidents = await store.incident_list(session, jurisdiction, period.start, end)
        monitoring = await store.alert_counts(session, jurisdiction, period.start, end)
        row = await store.briefing(session, jurisdiction, period.code)
    reviews = await insight.reviews(jurisdiction, period.start, end)
    i = stats["incidents"]
    breakdowns = {
        "预警级别": [(labels.get(k, k), v) for k, v in i["by_level"].items()],
        "风险类别": [(words.name_of(words.CATEGORIES, k), v) for k, v in i["by_category"].items()],
        "所在地区": [(regions.get(k, k), v) for k, v in i["by_region"].items()],
        "所属行业": [(k, v) for k, v in i["by_industry"].items()],
        "信息来源": [
            (words.name_of(words.SOURCES, k), v) for k, v in stats["reports"]["by_source"].items()
        ],
    }
    on_time = [
        (bodies.get(b, b), c["due"], c["on_time"], c["late"], _rate(c["on_time"], c["late"]))
        for b, c in stats["notifications"]["by_body"].items()
    ]
    for item in incidents:
        item["region_name"] = regions.get(item["region"] or "", item["region"] or "—")
        item["unit"] = item["handling_unit"] or bodies.get(item["responsible_body"] or "") or "—"
    narrative = (row or {}).get("narrative") or {}
    return Briefing(
        jurisdiction=jurisdiction,
        place=found.name,
        period=period,
        as_of=end,
        running=period.end >= today,
        status=f"第{row['number']}期" if row and row["number"] else "草稿",
        stats=stats,
        headline=_headline(stats, before, year),
        breakdowns=breakdowns,
        monthly_levels={
            m: {labels.get(k, k): v for k, v in levels.items()} for m, levels in monthly.items()
        },
        incidents=incidents,
        on_time=on_time,
        monitoring=monitoring,
        reviews=sorted(reviews, key=lambda r: r.held_at),
        narrative={k: narrative.get(k) or words.TO_FILL for k, _ in words.NARRATIVE},
        level_labels=labels,
        timezone=found.timezone,
    )


def _rate(on_time: int, late: int) -> str:
    rate = domain.rate(on_time, on_time + late)
    return "—" if rate is None else f"{rate * 100:.1f}%"

"""The dashboard's figures, shaped from what the API answers (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
Json = Mapping[str, Any]


def quarter_start(now: dt.datetime) -> dt.datetime:
    """The first instant of the quarter (Asia/Shanghai) that `now` is in."""
    local = now.astimezone(SHANGHAI)
    month = 3 * ((local.month - 1) // 3) + 1
    return dt.datetime(local.year, month, 1, tzinfo=SHANGHAI)


def last_months(now: dt.datetime, count: int = 12) -> list[str]:
    """The last `count` months as 'YYYY-MM', oldest first, ending with now's (Shanghai)."""
    local = now.astimezone(SHANGHAI)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def by_level(counts: Mapping[str, int], levels: list[Json]) -> list[tuple[Json, int]]:
    """Open warnings per level of the policy (grading's counts), most severe first."""
    ordered = sorted(levels, key=lambda lvl: -int(lvl["rank"]))
    return [(lvl, int(counts.get(lvl["id"], 0))) for lvl in ordered]


def trend(by_month: Iterable[Json], months: list[str]) -> dict[str, list[int]]:
    """Warnings opened per month, per level id, from the statistics' `by_month` (each month's
    single incidents at the highest level they reached): {level: [count per month]}."""
    index = {m: i for i, m in enumerate(months)}
    series: dict[str, list[int]] = {}
    for month in by_month:
        if month.get("month") not in index:
            continue
        for level, count in (month.get("by_level") or {}).items():
            if level != "none" and count:
                series.setdefault(level, [0] * len(months))[index[month["month"]]] += int(count)
    return series


@dataclass(frozen=True)
class OnTime:
    """Responsible notifications of a period whose limit is decided: on time, or late (after
    it, or not at all once it passed); and those pending, not yet due."""

    on_time: int
    late: int
    open: int

    @property
    def decided(self) -> int:
        """Notifications acknowledged, or past their limit."""
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        """On time over decided; None when nothing is decided yet."""
        return self.on_time / self.decided if self.decided else None


def on_time(notifications: Json) -> OnTime:
    """The on-time record of the statistics' `notifications` figures."""
    return OnTime(
        on_time=int(notifications.get("on_time") or 0),
        late=int(notifications.get("late") or 0),
        open=int(notifications.get("open") or 0),
    )


def statistics_range(now: dt.datetime, months: list[str]) -> dict[str, str]:
    """The `from` and `to` of the statistics for the first of `months` to today (Shanghai)."""
    return {"from": f"{months[0]}-01", "to": now.astimezone(SHANGHAI).date().isoformat()}


def tiles(regions: list[Json], columns: int = 4) -> list[tuple[Json, int, int]]:
    """A schematic tile map: each region at (row, column), in the order the bureau lists."""
    return [(r, i // columns, i % columns) for i, r in enumerate(regions)]

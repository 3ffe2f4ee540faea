"""The dashboard's figures, computed from what the API answers (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
Json = Mapping[str, Any]


def _at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


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


def by_level(incidents: Iterable[Json], levels: list[Json]) -> list[tuple[Json, int]]:
    """Open warnings per level of the policy, most severe first."""
    counts = Counter(i["level"] for i in incidents if i.get("level"))
    ordered = sorted(levels, key=lambda lvl: -int(lvl["rank"]))
    return [(lvl, counts.get(lvl["id"], 0)) for lvl in ordered]


def highest_by_region(incidents: Iterable[Json]) -> dict[str, Json]:
    """Each region's most severe open incident (its level id, label and rank)."""
    found: dict[str, Json] = {}
    for incident in incidents:
        rank = int(incident.get("level_rank") or 0)
        if rank <= 0:
            continue
        for region in incident.get("regions") or []:
            if rank > int(found.get(region, {}).get("level_rank", 0)):
                found[region] = incident
    return found


def trend(incidents: Iterable[Json], months: list[str]) -> dict[str, list[int]]:
    """Warnings opened per month (Shanghai), per level id: {level: [count per month]}."""
    index = {m: i for i, m in enumerate(months)}
    series: dict[str, list[int]] = {}
    for incident in incidents:
        opened = _at(incident.get("opened_at"))
        if opened is None or not incident.get("level"):
            continue
        month = opened.astimezone(SHANGHAI).strftime("%Y-%m")
        if month in index:
            series.setdefault(incident["level"], [0] * len(months))[index[month]] += 1
    return series


@dataclass(frozen=True)
class OnTime:
    """Responsible notifications of a period whose limit is decided: on time, late, missed."""

    on_time: int
    late: int
    missed: int

    @property
    def decided(self) -> int:
        """Notifications acknowledged, or past their limit unacknowledged."""
        return self.on_time + self.late + self.missed

    @property
    def rate(self) -> float | None:
        """On time over decided; None when nothing is decided yet."""
        return self.on_time / self.decided if self.decided else None


def on_time(notifications: Iterable[Json], *, since: dt.datetime, now: dt.datetime) -> OnTime:
    """The on-time record of responsible notifications issued since `since`."""
    on, late, missed = 0, 0, 0
    for n in notifications:
        issued, due = _at(n.get("issued_at")), _at(n.get("due_at"))
        if n.get("kind") != "responsible" or issued is None or issued < since or due is None:
            continue
        if n.get("acknowledged_at"):
            late += bool(n.get("late"))
            on += not n.get("late")
        elif n.get("status") == "overdue" or (n.get("status") == "pending" and due < now):
            missed += 1
    return OnTime(on_time=on, late=late, missed=missed)


def tiles(regions: list[Json], columns: int = 4) -> list[tuple[Json, int, int]]:
    """A schematic tile map: each region at (row, column), in the order the bureau lists."""
    return [(r, i // columns, i % columns) for i, r in enumerate(regions)]

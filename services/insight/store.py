"""Insight's store: the read model's writes and the period queries (the speed work lives here).

Each fact (report, incident, …) is one row, upserted from its events; what a report or an
incident counts for is also added, per day, to `insight_daily`, so that a period's totals sum
a few rows per day whatever the number of reports. When an event changes what a fact counts
for (an incident's level rose), the difference is applied to its day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.insight import domain
from services.insight.tables import (
    READ_MODEL,
    alerts,
    briefings,
    cases,
    daily,
    incidents,
    monthly,
    notifications,
)
from services.insight.tables import reports as reports_table
from services.insight.tally import Row, Tally


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _upsert(
    session: AsyncSession, table: Table, keys: list[str], set_: Callable[[Any], dict[str, Any]]
) -> Any:
    """An INSERT … ON CONFLICT (keys) DO UPDATE SET `set_(the row that was to be inserted)`."""
    statement = _insert(session, table)
    return statement.on_conflict_do_update(index_elements=keys, set_=set_(statement.excluded))


# ------------------------------------------------------------------------------ the writes

_FACTS = {"reports": reports_table, "incidents": incidents, "notifications": notifications,
          "cases": cases, "alerts": alerts}  # fmt: skip


async def known_rows(session: AsyncSession, ids: dict[str, set[str]]) -> dict[str, dict[str, Row]]:
    """The stored rows of the facts a batch touches: by table, then id, in a statement a
    table (reports and alerts never change: their ids are enough)."""
    known: dict[str, dict[str, Row]] = {name: {} for name in _FACTS}
    for name, wanted in ids.items():
        table = _FACTS[name]
        columns = [table.c.id] if name in ("reports", "alerts") else [table]
        for n in range(0, len(wanted), 1000):
            chunk = sorted(wanted)[n : n + 1000]
            found = await session.execute(select(*columns).where(table.c.id.in_(chunk)))
            known[name].update((r["id"], dict(r)) for r in found.mappings())
    return known


async def write(session: AsyncSession, tally: Tally) -> None:
    """Write what a batch changed: each table's rows in one executemany, then the days' and
    the months' figures moved (in a fixed order, so that replicas never deadlock)."""
    for name in ("reports", "alerts"):
        if rows := list(tally.rows[name].values()):
            await session.execute(_insert(session, _FACTS[name]).on_conflict_do_nothing(), rows)
    for name in ("incidents", "notifications", "cases"):
        if rows := list(tally.rows[name].values()):
            table = _FACTS[name]
            await session.execute(_upsert(session, table, ["id"], _replacing(rows[0])), rows)
    keys = ["jurisdiction", "measure", "key"]
    if rows := tally.daily():
        await session.execute(_upsert(session, daily, [*keys, "day"], _adding(daily)), rows)
    if rows := tally.monthly():
        await session.execute(_upsert(session, monthly, [*keys, "month"], _adding(monthly)), rows)


def _replacing(row: Row) -> Callable[[Any], dict[str, Any]]:
    """SET every column of the row but its id to the new row's."""
    return lambda new: {k: new[k] for k in row if k != "id"}


def _adding(table: Table) -> Callable[[Any], dict[str, Any]]:
    """SET value = value + the new row's."""
    return lambda new: {"value": table.c.value + new.value}


async def clear_read_model(session: AsyncSession) -> None:
    """Empty what events built (reviews and briefings stay)."""
    for table in READ_MODEL:
        await session.execute(delete(table))


async def incident_jurisdictions(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    """The jurisdiction of each known incident among `ids`."""
    rows = await session.execute(
        select(incidents.c.id, incidents.c.jurisdiction).where(incidents.c.id.in_(ids))
    )
    return {r.id: r.jurisdiction for r in rows}


# ------------------------------------------------------------------------------- the reads


async def daily_sums(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> list[tuple[str, str, str, Decimal]]:
    """(month, measure, key, sum) over the days of a range: its whole months from
    `insight_monthly`, the days before and after them from `insight_daily` (a month may come
    in several rows: add them up)."""
    whole = domain.whole_months(start, end)
    if whole is None:
        return await _sum_days(session, jurisdiction, start, end)
    first, last = whole
    m = monthly.c
    rows = await session.execute(
        select(m.month, m.measure, m.key, m.value).where(
            m.jurisdiction == jurisdiction,
            m.month.between(first.strftime("%Y-%m"), last.strftime("%Y-%m")),
        )
    )
    found = [(r[0], r[1], r[2], Decimal(r[3])) for r in rows]
    if start < first:
        found += await _sum_days(session, jurisdiction, start, first - domain.ONE_DAY)
    if last < end:
        found += await _sum_days(session, jurisdiction, last + domain.ONE_DAY, end)
    return found


async def _sum_days(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> list[tuple[str, str, str, Decimal]]:
    rows = await session.execute(
        select(daily.c.month, daily.c.measure, daily.c.key, func.sum(daily.c.value))
        .where(daily.c.jurisdiction == jurisdiction, daily.c.day.between(start, end))
        .group_by(daily.c.month, daily.c.measure, daily.c.key)
    )
    return [(r[0], r[1], r[2], Decimal(r[3])) for r in rows]


async def open_notifications(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date, now: dt.datetime
) -> dict[str, int]:
    """Per body, the responsible notifications due in the range that are not acknowledged and
    not yet due (a few hours' worth: the rest of the figures are in `insight_daily`)."""
    n = notifications.c
    # Not yet due: due today or later wherever the jurisdiction lies (a day either side of UTC).
    start = max(start, now.date() - domain.ONE_DAY)
    rows = await session.execute(
        select(n.body_id, func.count())
        .where(
            n.jurisdiction == jurisdiction,
            n.due_day.between(start, end),
            n.due_at > now,
            n.kind == "responsible",
            n.acknowledged_at.is_(None),
            n.status != "closed",
        )
        .group_by(n.body_id)
    )
    return {r[0]: int(r[1]) for r in rows}


async def case_counts(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> tuple[int, int, list[dt.timedelta]]:
    """Cases opened and closed in the range, and the middle one or two of the closed ones'
    durations: their median is the median of all (the database orders them; only those two
    are read, however many cases a year closes)."""
    c = cases.c
    opened = await session.scalar(
        select(func.count()).where(c.jurisdiction == jurisdiction, c.opened_day.between(start, end))
    )
    closed_in = (c.jurisdiction == jurisdiction, c.closed_day.between(start, end))
    closed = int(await session.scalar(select(func.count()).where(*closed_in)) or 0)
    if not closed:
        return int(opened or 0), 0, []
    took: Any = c.closed_at - c.opened_at
    if session.get_bind().dialect.name != "postgresql":
        took = func.julianday(c.closed_at) - func.julianday(c.opened_at)
    rows = await session.execute(
        select(c.opened_at, c.closed_at)
        .where(*closed_in)
        .order_by(took)
        .offset((closed - 1) // 2)
        .limit(2 - closed % 2)
    )
    return int(opened or 0), closed, [r.closed_at - r.opened_at for r in rows]


async def incident_list(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """The period's incidents with a level (highest first), and their cases."""
    i, c = incidents.c, cases.c
    rows = await session.execute(
        select(incidents, c.status.label("case_status"), c.handling_unit, c.responsible_body)
        .outerjoin(cases, c.incident_id == i.id)
        .where(i.jurisdiction == jurisdiction, i.day.between(start, end), i.top_rank > 0)
        .order_by(i.top_rank.desc(), i.opened_at)
    )
    return [dict(r) for r in rows.mappings()]


async def alert_counts(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Monitoring alerts of the range: enterprises alerted, missing returns, by indicator."""
    a = alerts.c
    where = (a.jurisdiction == jurisdiction, a.day.between(start, end))
    rows = await session.execute(
        select(a.kind, a.indicator, func.count()).where(*where).group_by(a.kind, a.indicator)
    )
    enterprises = await session.scalar(
        select(func.count(func.distinct(a.credit_code))).where(*where)
    )
    by_indicator: dict[str, int] = {}
    missing = 0
    for kind, indicator, count in rows:
        if kind == "missing":
            missing += int(count)
        else:
            by_indicator[indicator] = by_indicator.get(indicator, 0) + int(count)
    return {"enterprises": int(enterprises or 0), "missing": missing, "by_indicator": by_indicator}


async def monthly_levels(
    session: AsyncSession, jurisdiction: str, start: dt.date, end: dt.date
) -> dict[str, dict[str, int]]:
    """Single incidents per month and highest level: {month: {level or 'none': count}}."""
    found: dict[str, dict[str, int]] = {}
    for month, measure, key, value in await daily_sums(session, jurisdiction, start, end):
        if measure == "incidents.level" and value:
            found.setdefault(month, {})[key] = int(value)
    return found


async def briefing(session: AsyncSession, jurisdiction: str, period: str) -> dict[str, Any] | None:
    """A briefing's stored row (its narrative, and once issued its number and documents)."""
    b = briefings.c
    found = (
        (
            await session.execute(
                select(briefings).where(b.jurisdiction == jurisdiction, b.period == period)
            )
        )
        .mappings()
        .first()
    )
    return dict(found) if found else None


async def put_briefing(session: AsyncSession, row: dict[str, Any]) -> None:
    """Add or update a briefing's row."""
    keys = [c.name for c in briefings.primary_key.columns]
    changed = [k for k in row if k not in keys]
    statement = _upsert(session, briefings, keys, lambda new: {k: new[k] for k in changed})
    await session.execute(statement, row)


async def next_number(session: AsyncSession, jurisdiction: str, year: str) -> int:
    """The next issue number of the jurisdiction's briefings of a year (第N期)."""
    b = briefings.c
    latest = await session.scalar(
        select(func.max(b.number)).where(b.jurisdiction == jurisdiction, b.period.startswith(year))
    )
    return int(latest or 0) + 1

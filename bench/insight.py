"""Insight at a bureau's scale: five years of one city written straight into insight's read
model, then `GET /v1/statistics` for a quarter and for five years, and a quarterly .docx.

    python -m bench.insight [--scale 0.01] [--database-url URL]

`--scale 1` is the issue's history: 1,000,000 reports, 300,000 incidents, 600,000
notifications, 50,000 cases (on PostgreSQL: give `--database-url` a migrated database). The
same aggregate is also run as raw SQL over the fact tables, and the ratio printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from laborwatch import apps
from laborwatch.migrate import upgrade
from libs.common.auth import Role, create_key
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from services.insight import domain
from services.insight.tables import cases, daily, incidents, monthly, notifications, reports

REGIONS = ("nanguan", "kuancheng", "chaoyang", "erdao", "lvyuan", "shuangyang", "jiutai")
CATEGORIES = ("wage_arrears", "labor_contract", "layoff", "labor_dispatch", "work_injury")
SOURCES = ("agency", "hotline_12345", "hotline_12333", "media")
LEVELS = (
    (None, 0, ""),
    ("blue", 1, "三级蓝色预警"),
    ("yellow", 2, "二级黄色预警"),
    ("red", 3, "一级红色预警"),
)
DAYS = 5 * 365


def _rows(scale: float, end: dt.date, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """The fact rows of five years up to `end`, and their per-day figures."""
    start = end - dt.timedelta(days=DAYS - 1)
    sums: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def day() -> dt.date:
        return start + dt.timedelta(days=rng.randrange(DAYS))

    for _ in range(int(1_000_000 * scale)):
        row: dict[str, Any] = {"id": str(uuid.uuid4()), "jurisdiction": "changchun", "day": day(),
               "region": rng.choice(REGIONS), "source": rng.choice(SOURCES),
               "category": rng.choice(CATEGORIES)}  # fmt: skip
        out["reports"].append(row)
        for (m, k), v in domain.report_counts(row).items():
            sums[(row["day"], m, k)] += v
    for _ in range(int(300_000 * scale)):
        level, rank, label = rng.choices(LEVELS, weights=(60, 25, 12, 3))[0]
        d = day()
        at = dt.datetime(d.year, d.month, d.day, 2, tzinfo=dt.UTC)
        row = {"id": str(uuid.uuid4()), "jurisdiction": "changchun", "kind": "single", "day": d,
               "opened_at": at, "region": rng.choice(REGIONS), "category": rng.choice(CATEGORIES),
               "industry": "建筑业", "enterprise_name": "某公司", "top_level": level,
               "top_rank": rank, "top_label": label or None, "level": level,
               "level_label": label or None, "lifted": False, "workers": rng.randrange(1, 80),
               "amount_yuan": Decimal(rng.randrange(1, 600) * 10000), "status": "closed",
               "routed_to": None}  # fmt: skip
        out["incidents"].append(row)
        for (m, k), v in domain.incident_counts(row).items():
            sums[(d, m, k)] += v
    for _ in range(int(600_000 * scale)):
        d = day()
        due = dt.datetime(d.year, d.month, d.day, 6, tzinfo=dt.UTC)
        ack = due + dt.timedelta(hours=rng.uniform(-5, 1))
        note: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "jurisdiction": "changchun",
            "incident_id": "x",
            "body_id": rng.choice(("changchun.leading_group", "changchun.leading_group_office")),
            "kind": "responsible",
            "due_at": due,
            "due_day": d,
            "status": "acknowledged",
            "acknowledged_at": ack,
            "closed_at": None,
        }
        out["notifications"].append(note)
        for (m, k), v in domain.notification_counts(note).items():
            sums[(d, m, k)] += v
    for _ in range(int(50_000 * scale)):
        d = day()
        at = dt.datetime(d.year, d.month, d.day, 2, tzinfo=dt.UTC)
        closed = at + dt.timedelta(hours=rng.uniform(2, 300))
        out["cases"].append(
            {
                "id": str(uuid.uuid4()),
                "incident_id": "x",
                "jurisdiction": "changchun",
                "opened_at": at,
                "opened_day": d,
                "closed_at": closed,
                "closed_day": closed.date(),
                "status": "closed",
                "responsible_body": "changchun.leading_group_office",
                "handling_unit": None,
                "resolution": "resolved",
            }
        )
    out["daily"], out["monthly"] = sum_rows(sums)
    return out


def sum_rows(
    days: dict[tuple[dt.date, str, str], Decimal],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Changchun's per-day sums (day, measure, key) -> value as rows of insight's daily and
    monthly tables."""
    by_day = [
        {
            "jurisdiction": "changchun",
            "day": d,
            "measure": m,
            "key": k,
            "month": d.strftime("%Y-%m"),
            "value": v,
        }
        for (d, m, k), v in days.items()
    ]
    months: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for (d, m, k), v in days.items():
        months[(d.strftime("%Y-%m"), m, k)] += v
    by_month = [
        {"jurisdiction": "changchun", "month": month, "measure": m, "key": k, "value": v}
        for (month, m, k), v in months.items()
    ]
    return by_day, by_month


async def _load(runtime: Runtime, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = {"reports": reports, "incidents": incidents, "notifications": notifications,
              "cases": cases, "daily": daily, "monthly": monthly}  # fmt: skip
    async with runtime.sessionmaker.begin() as session:
        for name, table in tables.items():
            for n in range(0, len(rows[name]), 5000):
                await session.execute(insert(table), rows[name][n : n + 5000])
    # A bureau's database has its statistics: gather them, as autovacuum would in a while.
    async with runtime.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def _timed(call: Any, times: int) -> list[float]:
    """Milliseconds of `times` calls, after one call that warms the caches up."""
    await call()
    took = []
    for _ in range(times):
        began = time.perf_counter()
        await call()
        took.append((time.perf_counter() - began) * 1000)
    return took


def _p(took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms"


async def _raw(runtime: Runtime, start: dt.date, end: dt.date) -> None:
    """The same report and incident figures, straight from the fact tables."""
    async with runtime.sessionmaker() as session:
        for column in (reports.c.source, reports.c.category, reports.c.region):
            await session.execute(
                select(column, func.count())
                .where(reports.c.jurisdiction == "changchun", reports.c.day.between(start, end))
                .group_by(column)
            )
        for column in (incidents.c.top_level, incidents.c.category, incidents.c.region):
            await session.execute(
                select(column, func.count(), func.sum(incidents.c.workers))
                .where(incidents.c.jurisdiction == "changchun", incidents.c.day.between(start, end))
                .group_by(column)
            )


async def run(scale: float, url: str, requests: int) -> None:
    """Load, then measure."""
    settings = Settings(database_url=url, secret_key="bench-" + "x" * 40, log_json=False)
    runtime = Runtime.from_settings(settings)
    _, key = await create_key(runtime.sessionmaker, runtime.registry, name="b", role=Role.ADMIN)
    today = dt.date.today()
    began = time.perf_counter()
    rows = _rows(scale, today, random.Random(1))  # noqa: S311 (made-up data)
    await _load(runtime, rows)
    counts = {k: len(v) for k, v in rows.items()}
    print(f"loaded {counts} in {time.perf_counter() - began:.1f} s")
    app = apps.one(runtime, "insight")
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    five_years = today - dt.timedelta(days=DAYS - 1)
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
        for name, start in (("quarter", quarter_start), ("five years", five_years)):
            params = {"jurisdiction": "changchun", "from": str(start), "to": str(today)}

            async def api(params: dict[str, str] = params) -> None:
                (
                    await client.get("/v1/statistics", params=params, headers=headers)
                ).raise_for_status()

            async def raw(start: dt.date = start) -> None:
                await _raw(runtime, start, today)

            # The raw five-year aggregate takes seconds a run: a few runs give its median.
            api_ms, raw_ms = await _timed(api, requests), await _timed(raw, min(requests, 10))
            ratio = statistics.median(api_ms) / statistics.median(raw_ms)
            print(f"GET /v1/statistics, {name:10}: {_p(api_ms)}   raw SQL over the facts: "
                  f"{_p(raw_ms)}   ratio {ratio:.2f}")  # fmt: skip
        code = f"{today.year}-Q{(today.month - 1) // 3 + 1}"

        async def docx() -> None:
            r = await client.get(f"/v1/briefings/changchun/{code}.docx", headers=headers)
            r.raise_for_status()

        print(f"quarterly .docx: {_p(await _timed(docx, 3))}")
    await runtime.engine.dispose()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite+aiosqlite:///{scratch}/bench.db"
        if args.database_url is None:
            upgrade(url)
        asyncio.run(run(args.scale, url, args.requests))


if __name__ == "__main__":
    main()

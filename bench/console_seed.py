"""The console benchmark's system and data: `laborwatch run` on a fresh database, staff made
as `laborwatch users create` makes them, ~5,000 incidents through the real pipeline (intake →
grading → notifier → cases, insight) and the rest of 100,000 copied in SQL as closed history.

Used by bench/console.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any
from typing import cast as typed

import httpx
from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bench.insight import sum_rows
from bench.run import query
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from services.grading.tables import incidents as grading_incidents
from services.insight import domain
from services.insight.tables import daily, monthly
from services.insight.tables import incidents as insight_incidents
from services.notifier.tables import Notification
from tests.browser import System, make_people, serve_embedded

SECRET = "bench-console-" + "k" * 40  # the server's SECRET_KEY: the bench signs staff tokens
REGIONS = ("nanguan", "kuancheng", "chaoyang", "erdao", "lvyuan", "shuangyang", "jiutai")
CATEGORIES = ("wage_arrears", "labor_contract", "layoff", "labor_dispatch", "work_injury")
# name → (role, jurisdiction, body): who reads the pages
STAFF = {
    "analyst": ("analyst", "changchun", None),
    "office": ("responder", None, "changchun.leading_group_office"),
}
YEARS = 5


def serve(home: Path, port: int, database_url: str | None) -> System:
    """`laborwatch run` on a freshly migrated database (SQLite under `home` by default)."""
    settings = {"LABORWATCH_SECRET_KEY": SECRET}
    return serve_embedded(home, port, settings, people=_people, database_url=database_url)


def settings_of(system: System) -> Settings:
    """The settings of the system's database, for the bench's own connections."""
    url = system.env["LABORWATCH_DATABASE_URL"]
    return Settings(database_url=url, secret_key=SECRET, log_json=False)


def runtime_of(system: System) -> Runtime:
    """A runtime on the system's database (the bench's own connections)."""
    return Runtime.from_settings(settings_of(system))


async def _people(system: System) -> None:
    await make_people(system, settings_of(system), STAFF, admin="压测")


# ------------------------------------------------------------------------- the pipeline


def a_report(n: int, rng: random.Random) -> dict[str, Any]:
    """A report that warns, on an enterprise of its own: mostly blue and yellow, some red."""
    workers = rng.choices((12, 25, 60), weights=(55, 40, 5))[0] + rng.randrange(8)
    return {
        "source": "agency",
        "source_ref": f"bench-console-{n}",
        "jurisdiction": "changchun",
        "region": REGIONS[n % len(REGIONS)],
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "enterprise": {"name": f"长春压测{n:05d}建筑劳务有限公司"},
        "category": CATEGORIES[n % len(CATEGORIES)],
        "workers_involved": workers,
        "summary": f"{workers} 名工人反映被拖欠工资",
        "reporter": {"name": "张伟", "phone": "13800138000"},
    }


async def _each(calls: Iterable[Callable[[], Awaitable[None]]], concurrency: int = 16) -> None:
    """Run the calls, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


async def post_reports(system: System, count: int) -> None:
    """POST `count` reports to intake, as partner agencies would."""
    rng = random.Random(17)  # noqa: S311 (made-up data)
    headers = {"Authorization": f"Bearer {system.reporter_key}"}
    async with httpx.AsyncClient(base_url=system.url, headers=headers, timeout=60) as client:

        def post(n: int) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                r = await client.post("/v1/reports", json=a_report(n, rng))
                assert r.status_code == 202, r.text

            return call

        await _each(post(n) for n in range(count))


_PLACED = """
    SELECT (SELECT count(*) FROM intake_reports),
           (SELECT count(*) FROM cases_cases),
           (SELECT count(*) FROM insight_incidents),
           (SELECT count(*) FROM outbox)"""


def settle(system: System, *, wanted: int, timeout: float = 1800) -> float:
    """Wait until every report has its case and insight's incident, and the outbox is empty;
    return how long it took."""
    server = _server(system)
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        reports, cases, known, outbox = query(server, _PLACED)
        if reports >= wanted and cases >= wanted and known >= wanted and outbox == 0:
            return time.monotonic() - began
        time.sleep(1)
    raise RuntimeError(f"the pipeline did not settle in {timeout} s")


def _server(system: System) -> dict[str, Any]:
    """bench.run's description of a server's database, for its `query`."""
    url = system.env["LABORWATCH_DATABASE_URL"]
    if url.startswith("sqlite"):
        return {"sqlite": Path(url.split("///", 1)[1])}
    return {"pg": url.replace("postgresql+asyncpg://", "postgresql://")}


# ------------------------------------------------------------- closing, acknowledging


async def _every(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        more: dict[str, str] = {"cursor": cursor} if cursor else {}
        answer = await client.get(path, params={**params, **more, "limit": 500})
        answer.raise_for_status()
        page = answer.json()
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return [i for i in found if i is not None]


async def close_and_acknowledge(system: System, *, keep_open: int, acknowledge: int) -> None:
    """Close all but the newest `keep_open` cases (their incidents and pending notifications
    close with them), and acknowledge `acknowledge` of the open ones' notifications."""
    headers = {"Authorization": f"Bearer {system.admin_key}"}
    async with httpx.AsyncClient(base_url=system.url, headers=headers, timeout=60) as client:
        cases = await _every(client, "/v1/cases", jurisdiction="changchun")

        def close(case: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            resolution = "transferred" if case["level"] == "red" else "resolved"
            body = {"resolution": resolution, "outcome": "企业已足额支付拖欠工资"}

            async def call() -> None:
                r = await client.post(f"/v1/cases/{case['id']}/close", json=body)
                assert r.status_code == 200, r.text

            return call

        await _each(close(c) for c in cases[keep_open:])
        pending = await _every(client, "/v1/notifications", status="pending")
        responsible = [n for n in pending if n["kind"] == "responsible"]

        def ack(notification: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                path = f"/v1/notifications/{notification['id']}/ack"
                r = await client.post(path, json={"note": "已收到，正在核实"})
                assert r.status_code == 200, r.text

            return call

        await _each(ack(n) for n in responsible[:acknowledge])


async def make_overdue(system: System, count: int) -> None:
    """Move `count` pending notifications' limits into the past: the notifier's clock then
    finds them overdue and escalates each, as it would a real one."""
    runtime = runtime_of(system)
    t = typed(Table, Notification.__table__)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    try:
        async with runtime.sessionmaker.begin() as session:
            ids = list(
                await session.scalars(
                    select(t.c.id)
                    .where(t.c.status == "pending", t.c.kind == "responsible")
                    .limit(count)
                )
            )
            await session.execute(update(t).where(t.c.id.in_(ids)).values(due_at=past))
        for _ in range(120):
            async with runtime.sessionmaker() as session:
                done = await session.scalar(
                    select(text("count(*)")).select_from(t).where(t.c.status == "overdue")
                )
            if done is not None and done >= len(ids):
                return
            await asyncio.sleep(1)
        raise RuntimeError("the notifier did not find the overdue notifications")
    finally:
        await runtime.engine.dispose()


# -------------------------------------------------------------------- closed history


def _copy(template: dict[str, Any], at: dt.datetime, rng: random.Random) -> dict[str, Any]:
    """A closed incident like `template`, opened at `at`."""
    closed = at + dt.timedelta(days=rng.uniform(1, 40))
    n = rng.randrange(10**6)
    return template | {
        "id": str(uuid.uuid4()),
        "enterprise_name": f"长春历史{n:06d}有限公司",
        "correlation_key": None,
        "code_key": None,
        "region": REGIONS[n % len(REGIONS)],
        "regions": [REGIONS[n % len(REGIONS)]],
        "status": "closed",
        "opened_at": at,
        "last_report_at": at,
        "issued_at": at if template["level"] else None,
        "updated_at": closed,
        "closed_at": closed,
        "case_id": None,
        "timeline_head": None,
        "timeline_entries": 0,
    }


def _known(row: dict[str, Any]) -> dict[str, Any]:
    """The incident as insight's read model holds it."""
    return {
        "id": row["id"],
        "jurisdiction": row["jurisdiction"],
        "kind": "single",
        "day": domain.local_day(row["opened_at"], "Asia/Shanghai"),
        "opened_at": row["opened_at"],
        "region": row["region"],
        "category": row["category"],
        "industry": row["industry"],
        "enterprise_name": row["enterprise_name"],
        "top_level": row["level"],
        "top_rank": row["level_rank"],
        "top_label": None,
        "level": row["level"],
        "level_label": None,
        "lifted": False,
        "workers": row["workers_involved"],
        "amount_yuan": row["amount_yuan"],
        "status": "closed",
        "routed_to": None,
    }


async def copy_history(system: System, count: int) -> None:
    """Copy the pipeline's closed incidents into `count` closed ones over five years, in
    grading's table and insight's read model (its facts and its day and month sums)."""
    rng = random.Random(5)  # noqa: S311 (made-up data)
    runtime = runtime_of(system)
    now = dt.datetime.now(dt.UTC)
    try:
        async with runtime.sessionmaker() as session:
            found = await session.execute(
                select(grading_incidents).where(grading_incidents.c.status == "closed")
            )
            templates = [dict(r) for r in found.mappings()]
        for first in range(0, count, 5000):
            span = range(first, min(count, first + 5000))
            ages = (dt.timedelta(days=rng.uniform(2, YEARS * 365)) for _ in span)
            rows = [
                _copy(templates[n % len(templates)], now - age, rng)
                for n, age in zip(span, ages, strict=True)
            ]
            known = [_known(r) for r in rows]
            async with runtime.sessionmaker.begin() as session:
                await session.execute(insert(grading_incidents), rows)
                await session.execute(insert(insight_incidents), known)
                await _add_sums(session, known)
        async with runtime.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await runtime.engine.dispose()


async def _add_sums(session: Any, known: list[dict[str, Any]]) -> None:
    """Add the incidents' counts to insight's per-day and per-month sums."""
    days: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    for row in known:
        for (measure, key), value in domain.incident_counts(row).items():
            days[(row["day"], measure, key)] += value
    by_day, by_month = sum_rows(days)
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for table, rows, keys in (
        (daily, by_day, ["jurisdiction", "day", "measure", "key"]),
        (monthly, by_month, ["jurisdiction", "month", "measure", "key"]),
    ):
        statement = upsert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={"value": table.c.value + statement.excluded.value}
        )
        await session.execute(statement, rows)

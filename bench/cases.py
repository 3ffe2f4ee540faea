"""Cases under load: N open cases, then `GET /v1/cases` and `GET /v1/cases/{id}/form.docx`
p50/p99, beside the floors of the same run (`/healthz` through the same app, and the form
rendered alone, without HTTP or the database).

    python bench/cases.py [--cases 10000] [--requests 300] [--database-url URL]

The cases service runs alone in this process (its app under its lifespan, requests through
httpx's ASGI transport: no network), on a fresh SQLite file unless a URL is given (a
PostgreSQL URL must name a migrated, empty database). Targets (issue 13): list p99 ≤ 100 ms,
form p99 ≤ 300 ms at 10,000 open cases.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from laborwatch import apps  # noqa: E402
from laborwatch.migrate import upgrade  # noqa: E402
from libs.common.auth import Role, create_key  # noqa: E402
from libs.common.runtime import Runtime  # noqa: E402
from libs.common.settings import Settings  # noqa: E402
from services.cases.case import Case, Level  # noqa: E402
from services.cases.form import render_form  # noqa: E402
from services.cases.store import Store  # noqa: E402
from services.cases.tables import cases as cases_table  # noqa: E402

REGIONS = ["nanguan", "kuancheng", "chaoyang", "erdao", "lvyuan", "shuangyang"]


def a_case(n: int, at: dt.datetime) -> Case:
    """An open Changchun case, as a warning opens one."""
    incident = {
        "id": str(uuid.uuid4()),
        "jurisdiction": "changchun",
        "regions": [REGIONS[n % len(REGIONS)]],
        "bodies": ["changchun.leading_group_office"],
        "event_key": f"changchun:bench{n}",
        "facts": {
            "enterprise_name": f"长春压测{n}有限公司",
            "credit_code": None,
            "industry": "建筑业",
            "category": "wage_arrears",
            "regions": [REGIONS[n % len(REGIONS)]],
            "workers_involved": 20 + n % 40,
            "amount_yuan": "1200000",
            "terminations": 0,
            "collective_action": "possible",
            "opened_at": at.isoformat(),
        },
    }
    level = Level(
        "yellow",
        "二级黄色预警",
        2,
        "changchun.leading_group_office",
        "领导小组办公室",
        at + dt.timedelta(hours=6),
    )
    case, _ = Case.open(id=str(uuid.uuid4()), incident=incident, level=level, at=at, drill=False)
    case.version = 1
    return case


async def seed(runtime: Runtime, count: int) -> list[Case]:
    """Write `count` open cases in batches."""
    store, made = Store(runtime.cipher), []
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    for first in range(0, count, 1000):
        batch = [
            a_case(n, start + dt.timedelta(minutes=n))
            for n in range(first, min(count, first + 1000))
        ]
        async with runtime.sessionmaker.begin() as session:
            await session.execute(insert(cases_table), [store.row_of(c) for c in batch])
        made += batch
    return made


async def timed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], n: int
) -> list[float]:
    """Milliseconds of n sequential GETs (each must be 200)."""
    out = []
    for _ in range(n):
        began = time.perf_counter()
        answer = await client.get(url, headers=headers)
        out.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(count: int, requests: int, url: str) -> dict[str, Any]:
    runtime = Runtime.from_settings(
        Settings(database_url=url, log_json=False, secret_key="bench-" + "x" * 40)
    )
    made = await seed(runtime, count)
    _, key = await create_key(runtime.sessionmaker, runtime.registry, name="bench", role=Role.ADMIN)
    headers = {"Authorization": f"Bearer {key}"}
    app = apps.one(runtime, "cases")
    results: dict[str, Any] = {"cases": count, "requests": requests}
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client,
    ):
        await timed(client, "/v1/cases?limit=50", headers, 5)  # warm up
        measures = {
            "floor /healthz": await timed(client, "/healthz", {}, requests),
            "GET /v1/cases?limit=50": await timed(client, "/v1/cases?limit=50", headers, requests),
            "GET /v1/cases?status=open&level=yellow": await timed(
                client, "/v1/cases?status=open&level=yellow&limit=50", headers, requests
            ),
            "GET form.docx": await timed(
                client, f"/v1/cases/{made[-1].id}/form.docx", headers, requests
            ),
        }
    jurisdiction = runtime.registry.get("changchun")
    assert jurisdiction is not None
    alone = []
    for _ in range(requests):
        began = time.perf_counter()
        render_form(made[0], jurisdiction)
        alone.append((time.perf_counter() - began) * 1000)
    measures["floor: form rendered alone"] = alone
    await runtime.engine.dispose()
    for name, values in measures.items():
        results[name] = {
            "p50_ms": round(pct(values, 0.5), 2),
            "p99_ms": round(pct(values, 0.99), 2),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        if args.database_url is None:
            upgrade(url)
        results = asyncio.run(run(args.cases, args.requests, url))
    print(f"{results['cases']} open cases, {results['requests']} requests each (ms):")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"  {name:42} p50 {value['p50_ms']:8.2f}   p99 {value['p99_ms']:8.2f}")


if __name__ == "__main__":
    main()

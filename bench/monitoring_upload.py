"""One department's monthly file: N rows (N enterprises) validated, stored and evaluated.

    python bench/monitoring_upload.py [--rows 10000] [--history 6] [--embedded]

The register is filled directly (setup, not measured); `--history` months are uploaded first,
so that the measured upload is evaluated against six months of each enterprise's figures (the
anomaly rule needs six). The measured upload is a CSV file of N rows through the API. By
default on the stack: monitoring, intake, grading and the notifier as processes of their own
over PostgreSQL and the broker, the file posted over HTTP. `--embedded`: the whole system in
this process (httpx over ASGI) on a fresh SQLite file. The bound the issue sets: 10,000 rows
in at most 10 s. Then the alerts are followed on: intake files each as a report (at most
LABORWATCH_MONITORING_ALERTS_PER_SECOND), grading places it; the time each takes from intake's
acceptance to grading is printed, and so is that of live reports posted to intake meanwhile
(one every 0.25 s for the first 5 s), which must not wait behind the upload's alerts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from laborwatch import apps  # noqa: E402
from laborwatch.migrate import upgrade  # noqa: E402
from libs.common.auth import Role, create_key  # noqa: E402
from libs.common.enterprise import credit_code_check_char  # noqa: E402
from libs.common.runtime import Runtime  # noqa: E402
from libs.common.settings import Settings  # noqa: E402
from scripts import stack as stack_mod  # noqa: E402
from services.grading.tables import IncidentReport  # noqa: E402
from services.intake.tables import Report  # noqa: E402
from services.monitoring.tables import enterprises  # noqa: E402

# A file to keep the measured upload's profile in (cProfile), if set.
PROFILE = os.environ.get("BENCH_PROFILE")
HEADER = (
    "credit_code,period,headcount,wages_due_yuan,wages_paid_yuan,"
    "social_insurance_arrears_months,layoffs,disputes"
)


def code(n: int) -> str:
    first = f"91220104MB{n:07d}"
    return first + credit_code_check_char(first)


def month(back: int) -> str:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)
    index = now.year * 12 + now.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def csv_of(rows: int, period: str, *, shaken: bool) -> bytes:
    """A month's file; in a shaken month one enterprise in ten loses a third of its people."""
    lines = [HEADER]
    for n in range(rows):
        people = 200 if shaken and n % 10 == 0 else 300 + n % 7
        lines.append(f"{code(n)},{period},{people},1500000,1500000,0,0,{n % 3}")
    return "\n".join(lines).encode()


async def _register(runtime: Runtime, rows: int) -> None:
    """The register of `rows` enterprises, written straight into monitoring's table."""
    now = dt.datetime.now(dt.UTC)
    same = {"jurisdiction": "changchun", "region": "chaoyang", "industry": None, "headcount": 300,
            "reason": "other", "note": None, "registered_at": now, "updated_at": now,
            "ended_at": None, "missing_period": month(-1), "missing_due_at": None}  # fmt: skip
    async with runtime.sessionmaker.begin() as s:
        await s.execute(
            insert(enterprises),
            [same | {"credit_code": code(n), "name": f"企业{n}"} for n in range(rows)],
        )


@contextlib.asynccontextmanager
async def _client(runtime: Runtime, monitoring_url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the monitoring API: over HTTP to the stack's process, else to the whole
    system in this process."""
    if monitoring_url is not None:
        async with httpx.AsyncClient(base_url=monitoring_url, timeout=600) as client:
            yield client
        return
    app = apps.all_in_one(runtime)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b", timeout=600) as c:
            yield c


async def run(
    rows: int, history: int, url: str, monitoring_url: str | None, intake_url: str | None
) -> None:
    """Fill the register, upload the history, then measure one upload and its alerts."""
    settings = Settings(database_url=url, log_json=False, secret_key="bench-" + "x" * 40)
    runtime = Runtime.from_settings(settings)
    await _register(runtime, rows)
    _, key = await create_key(runtime.sessionmaker, runtime.registry, name="b", role=Role.REPORTER)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
    async with _client(runtime, monitoring_url) as c:
        for back in range(history + 1, 1, -1):
            started = time.perf_counter()
            r = await c.post(
                "/v1/monitoring/observations",
                content=csv_of(rows, month(back), shaken=False),
                headers=headers,
            )
            assert r.status_code == 202, r.text
            print(f"history {month(back)}: {time.perf_counter() - started:.2f} s")
        body = await _measured(c, rows, headers)
        live_headers = {"Authorization": f"Bearer {key}"}
        async with contextlib.AsyncExitStack() as stack:
            intake = c
            if intake_url is not None:
                intake = await stack.enter_async_context(httpx.AsyncClient(base_url=intake_url))
            ids: list[str] = []
            live = asyncio.create_task(_live_lags(runtime, ids))
            await asyncio.gather(
                _live_reports(intake, live_headers, ids),
                _alerts_graded(runtime, len(body["alerts"])),
            )
            await live
    await runtime.engine.dispose()


LIVE = 20  # live reports, one every 0.25 s


async def _live_reports(c: httpx.AsyncClient, headers: dict[str, str], ids: list[str]) -> None:
    """Reports posted to intake while the alerts are filed; their ids added to `ids`."""
    for n in range(LIVE):
        report = {
            "source": "agency",
            "jurisdiction": "changchun",
            "region": "chaoyang",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            "enterprise": {"name": f"长春实时来报{n}号建筑劳务有限公司"},
            "category": "wage_arrears",
            "workers_involved": 35,
        }
        r = await c.post("/v1/reports", json=report, headers=headers)
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
        await asyncio.sleep(0.25)


async def _live_lags(runtime: Runtime, ids: list[str], *, timeout: float = 120) -> None:
    """Each live report's time from intake's acceptance to grading (sampled every 0.05 s while
    they are posted into `ids`)."""
    placed: dict[str, float] = {}
    until = time.time() + timeout
    while len(placed) < LIVE and time.time() < until:
        async with runtime.sessionmaker() as s:
            found = await s.scalars(
                select(IncidentReport.report_id).where(IncidentReport.report_id.in_(ids))
            )
            now = time.time()
            placed.update((i, now) for i in found if i not in placed)
        await asyncio.sleep(0.05)
    async with runtime.sessionmaker() as s:
        query = select(Report.id, Report.received_at).where(Report.id.in_(ids))
        accepted = {id_: at for id_, at in await s.execute(query)}
    lags = sorted(placed[i] - accepted[i].timestamp() for i in placed)
    print(
        f"live reports meanwhile: {len(lags)} of {LIVE} graded; from intake's acceptance "
        f"to grading p50 {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s"
    )


async def _measured(c: httpx.AsyncClient, rows: int, headers: dict[str, str]) -> Any:
    """The measured upload (profiled into BENCH_PROFILE if set, in process only)."""
    profile = cProfile.Profile() if PROFILE else None
    cpu, started = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    r = await c.post(
        "/v1/monitoring/observations", content=csv_of(rows, month(1), shaken=True), headers=headers
    )
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profile is not None and PROFILE:
        profile.disable()
        profile.dump_stats(PROFILE)
    assert r.status_code == 202, r.text
    body = r.json()
    print(
        f"measured: {body['accepted']} rows, {len(body['alerts'])} alerts "
        f"in {took:.2f} s ({'within' if took <= 10 else 'OVER'} the 10 s bound; "
        f"{cpu:.2f} s of this process's CPU meanwhile)"
    )
    return body


async def _alerts_graded(runtime: Runtime, alerts: int, *, timeout: float = 300) -> None:
    """How the upload's alerts travel on as reports: counted in grading every 0.1 s from the
    upload's answer. The k-th alert intake accepted is graded at the first sample holding k."""
    answered, samples = time.time(), []
    while time.time() < answered + timeout:
        async with runtime.sessionmaker() as s:
            graded = await s.scalar(
                select(func.count()).where(IncidentReport.source == "monitoring")
            )
        samples.append((time.time(), graded or 0))
        if samples[-1][1] >= alerts:
            break
        await asyncio.sleep(0.1)
    async with runtime.sessionmaker() as s:
        accepted = [
            at.timestamp()
            for at in await s.scalars(
                select(Report.received_at)
                .where(Report.source == "monitoring")
                .order_by(Report.received_at)
            )
        ]
    lags, i = [], 0
    for k, at in enumerate(accepted, start=1):
        while i < len(samples) and samples[i][1] < k:
            i += 1
        if i == len(samples):
            break
        lags.append(max(0.0, samples[i][0] - at))
    lags.sort()
    last = samples[-1][0] - answered
    print(
        f"alerts on to grading: {len(lags)} of {alerts} graded, the last {last:.2f} s after "
        f"the upload's answer; each from intake's acceptance to grading: p50 "
        f"{lags[len(lags) // 2] if lags else float('nan'):.2f} s, p99 "
        f"{lags[int(len(lags) * 0.99)] if lags else float('nan'):.2f} s (sampled every 0.1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=6)
    parser.add_argument("--embedded", action="store_true", help="SQLite, all in this process")
    parser.add_argument(
        "--alerts-per-second", type=float, help="intake's pace for alerts (default: the setting's)"
    )
    args = parser.parse_args()
    pace = {}
    if args.alerts_per_second:
        pace = {"LABORWATCH_MONITORING_ALERTS_PER_SECOND": str(args.alerts_per_second)}
        os.environ.update(pace)  # the embedded system reads it from here
    if args.embedded:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lw-bench-')}/monitoring.db"
        upgrade(url)
        asyncio.run(run(args.rows, args.history, url, None, None))
        return
    services = ("intake", "grading", "notifier", "monitoring")
    with stack_mod.for_bench(
        "monitoring", services, base_port=8050, kafka_port=9097, extra_env=pace
    ) as s:
        asyncio.run(
            run(args.rows, args.history, s.database_url, s.url("monitoring"), s.url("intake"))
        )


if __name__ == "__main__":
    main()

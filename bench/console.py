"""`make bench-console`: the staff console with 100,000 incidents in the database.

    python bench/console.py [--incidents 100000] [--pipeline 5000] [--open 1000]
                            [--requests 100] [--loads 20] [--database-url URL]

`laborwatch run` (one process: every service and the console) on a fresh SQLite file, or on
the empty PostgreSQL database `--database-url` names (`python -m bench.pg NAME` makes one).
`--pipeline` reports are POSTed to intake and go through grading, the notifier, cases and
insight, so that every table agrees; all but the newest `--open` cases are closed through the
API (their incidents and notifications close with them), the open ones' notifications
acknowledged but ~100 (limits are hours: few stay pending), 30 made overdue (the notifier's
clock escalates them); the rest of `--incidents` are copied
in SQL as closed history over five years (grading's incidents and insight's read model).

Measured: each console page's server time (p50/p95 over `--requests` GETs with a signed-in
session, over HTTP), beside it the raw `/v1` calls the page makes (as the same user), and the
dashboard fully drawn in headless chromium (navigation to `html[data-charts-drawn]`, over
`--loads` loads). Floors of the same run: `/healthz` and the sign-in page. Issue 17's targets:
every page p95 ≤ 150 ms, the dashboard drawn ≤ 1.5 s. Results: var/bench/console.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import console_measure as measure  # noqa: E402
from bench import console_seed as seed  # noqa: E402
from services.console import figures, labels  # noqa: E402
from tests.browser import System  # noqa: E402
from tests.conftest import free_port  # noqa: E402

OFFICE = "changchun.leading_group_office"
Page = tuple[str, str, list[str]]


def pages(ids: dict[str, str]) -> list[tuple[str, Page]]:
    """(user, (name, console URL, the raw calls it makes)) of each page measured."""
    now = dt.datetime.now(dt.UTC)
    months = figures.last_months(now)
    year = figures.statistics_range(now, months)
    quarter = figures.statistics_range(now, [figures.quarter_start(now).strftime("%Y-%m")])
    _, start, end = labels.quick_ranges(now.astimezone(figures.SHANGHAI).date())["quarter"]
    span = f"from={start}&to={end}"
    stats = [
        f"/v1/statistics?jurisdiction=changchun&{span}",
        f"/v1/reviews?jurisdiction=changchun&{span}",
    ]
    j, cc, inc, case = "/v1/jurisdictions", "jurisdiction=changchun", ids["incident"], ids["case"]
    listed, shown = f"/v1/incidents?{cc}&limit=25", "/console/incidents?j=changchun"
    awaiting = [  # the 评估 page asks each level's newest 50 at once
        f"/v1/incidents?{cc}&status=open&provisional=true&level={lvl}&limit=50"
        for lvl in ("red", "yellow", "blue")
    ]
    yellow, history = "&status=open&level=yellow", "&status=closed&region=chaoyang&category=layoff"
    dashboard = [
        j,
        f"/v1/statistics?{cc}&from={year['from']}&to={year['to']}",
        f"/v1/statistics?{cc}&from={quarter['from']}&to={quarter['to']}",
        f"/v1/incidents/open-warnings?{cc}",
        "/v1/notifications?status=overdue&limit=500",
    ]
    incident = [
        f"/v1/incidents/{inc}",
        f"/v1/reports/{ids['report']}",
        f"/v1/notifications?incident_id={inc}&limit=100",
        j,
    ]
    todo = [
        f"/v1/notifications?status={s}&body_id={OFFICE}&limit=500" for s in ("pending", "overdue")
    ]
    watched = [f"/v1/monitoring/enterprises?{cc}&limit=500", f"/v1/monitoring/alerts?{cc}&limit=50"]
    return [
        ("analyst", ("总览", "/console/?j=changchun", dashboard)),
        ("analyst", ("预警事件", shown, [j, listed])),
        ("analyst", ("预警事件 处置中·黄色", shown + yellow, [j, listed + yellow])),
        ("analyst", ("预警事件 已结束·区域·类别", shown + history, [j, listed + history])),
        ("analyst", ("一个事件", f"/console/incidents/{inc}", incident)),
        ("office", ("待办", "/console/todo", todo)),
        ("office", ("评估", "/console/assess?j=changchun", [j, *awaiting])),
        ("analyst", ("处置", "/console/cases?j=changchun", [j, f"/v1/cases?{cc}&limit=25"])),
        ("analyst", ("一个案件", f"/console/cases/{case}", [f"/v1/cases/{case}", incident[0]])),
        ("analyst", ("统计与简报", "/console/statistics?j=changchun", [j, *stats])),
        ("analyst", ("定点监测", "/console/monitoring?j=changchun", [j, *watched])),
    ]


async def _ids(system: System) -> dict[str, str]:
    """An open incident of the pipeline (with its report and case) to show."""
    headers = {"Authorization": f"Bearer {system.admin_key}"}
    async with httpx.AsyncClient(base_url=system.url, headers=headers) as client:
        found = await client.get(
            "/v1/incidents", params={"jurisdiction": "changchun", "status": "open", "limit": 1}
        )
        incident = found.json()["items"][0]
    return {"incident": incident["id"], "report": incident["report_ids"][0],
            "case": incident["case_id"]}  # fmt: skip


async def _measure(system: System, requests: int, loads: int) -> dict[str, Any]:
    ids = await _ids(system)
    clients = {name: await measure.signed_in(system, name) for name in seed.STAFF}
    tokens = {name: await measure.staff_token(system, name) for name in seed.STAFF}
    try:
        floor = clients["analyst"]
        floors = {
            "/healthz": measure.summary(await measure.timed(floor, "/healthz", requests)),
            "sign-in page": measure.summary(await measure.timed(floor, "/console/login", requests)),
        }
        measured = [
            await measure.page_and_calls(system, clients[who], tokens[who], page, requests)
            for who, page in pages(ids)
        ]
    finally:
        for client in clients.values():
            await client.aclose()
    drawn = await measure.dashboard_drawn(system, "analyst", loads)
    return {"floors": floors, "pages": measured, "dashboard_drawn": drawn}


def seeded(system: System, args: argparse.Namespace) -> dict[str, float]:
    """Seed the system; return how long each part took (seconds)."""
    took: dict[str, float] = {}
    began = time.monotonic()
    asyncio.run(seed.post_reports(system, args.pipeline))
    seed.settle(system, wanted=args.pipeline)
    took["pipeline"] = time.monotonic() - began
    began = time.monotonic()
    # Most open warnings' notifications acknowledged (limits are hours): ~100 left pending.
    acknowledge = max(0, args.open - 130)
    asyncio.run(seed.close_and_acknowledge(system, keep_open=args.open, acknowledge=acknowledge))
    asyncio.run(seed.make_overdue(system, 30))
    took["closing"] = time.monotonic() - began
    began = time.monotonic()
    asyncio.run(seed.copy_history(system, args.incidents - args.pipeline))
    took["history"] = time.monotonic() - began
    return {k: round(v, 1) for k, v in took.items()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Serve, seed, measure."""
    url = args.database_url
    with tempfile.TemporaryDirectory(prefix="lw-cbench-") as home:
        system = seed.serve(Path(home), free_port(), url)
        try:
            seconds = seeded(system, args)
            load_before = os.getloadavg()
            results = asyncio.run(_measure(system, args.requests, args.loads))
            load_after = os.getloadavg()
        finally:
            system.stop()
    return {
        "database": "postgresql" if url else "sqlite",
        "incidents": args.incidents,
        "pipeline": args.pipeline,
        "open": args.open,
        "seeding_seconds": seconds,
        "load_average": {"before": load_before, "after": load_after},
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **results,
    }


def table(r: dict[str, Any]) -> str:
    """The results as a table: each page, the raw calls beside it, the floors."""
    lines = [f"{r['incidents']:,} incidents on {r['database']} ({r['open']} open); load average "
             f"{r['load_average']['before'][0]:.2f} → {r['load_average']['after'][0]:.2f}",
             f"{'page / raw call':76} {'p50 ms':>8} {'p95 ms':>8}"]  # fmt: skip
    for p in r["pages"]:
        lines.append(f"{p['page'] + '  ' + p['url']:76} {p['p50_ms']:8.1f} {p['p95_ms']:8.1f}")
        for c in p["calls"]:
            lines.append(f"    {c['call'][:72]:72} {c['p50_ms']:8.1f} {c['p95_ms']:8.1f}")
    for name, f in r["floors"].items():
        lines.append(f"{'floor: ' + name:76} {f['p50_ms']:8.1f} {f['p95_ms']:8.1f}")
    d = r["dashboard_drawn"]
    lines.append(f"{'dashboard drawn in chromium (navigation → data-charts-drawn)':76} "
                 f"{d['p50_ms']:8.1f} {d['p95_ms']:8.1f}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run, print and keep the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--pipeline", type=int, default=5_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--database-url", help="a migrated, empty PostgreSQL database")
    results = run(parser.parse_args())
    print(table(results))
    out = (
        ROOT
        / "var"
        / "bench"
        / f"console{'-postgres' if results['database'] != 'sqlite' else ''}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"raw numbers: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

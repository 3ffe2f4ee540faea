"""`make bench`: throughput, latency, end-to-end time, memory and deadline lag, per mode.

    python bench/run.py [--seconds 60] [--modes embedded,stack] [--write docs/benchmarks.md]

The load generator is wrk, a separate process; the server runs as it would in use (`laborwatch
run`, or the three-process stack of scripts/stack.py). The floors are measured in the same
run: the raw rate of intake's two-row transaction (report + outbox) through asyncpg, and a
bare FastAPI endpoint that parses the same body and stores nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import stack as stack_mod  # noqa: E402

LUA = ROOT / "bench" / "post_reports.lua"
LABORWATCH = str(Path(sys.executable).with_name("laborwatch"))
PG = os.environ.get("LABORWATCH_STACK_PG", "postgresql://postgres@127.0.0.1:5432")


WRK_THREADS = 2


def wrk(
    url: str, key: str, *, seconds: int, connections: int, rate: int = 0, run: str | None = None
) -> dict[str, Any]:
    """Run wrk against intake's POST /v1/reports, offering `rate` requests/s (0: as many as the
    connections can send); return its numbers."""
    env = os.environ | {
        "LW_KEY": key,
        "LW_RUN": run or uuid.uuid4().hex[:8],
        "LW_RATE": str(rate),
        "LW_THREADS": str(WRK_THREADS),
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    ok = result["requests"] - result["errors"] - result["status_errors"]
    result["accepted_per_s"] = ok / (result["duration_us"] / 1e6)
    result["offered_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return {"rss": int(found["VmRSS"]) / 1024, "peak": int(found["VmHWM"]) / 1024}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# ----------------------------------------------------------------------------------- servers


@contextlib.contextmanager
def embedded(port: int = 8010) -> Iterator[dict[str, Any]]:
    """`laborwatch run` on a fresh SQLite file."""
    workdir = Path(tempfile.mkdtemp(prefix="lw-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")} | {
        "LABORWATCH_PORT": str(port),
        "LABORWATCH_LOG_LEVEL": "WARNING",
    }
    out = (workdir / "stdout.txt").open("w")
    process = subprocess.Popen(
        [LABORWATCH, "run"],
        cwd=workdir,
        env=env,
        stdout=out,
        stderr=(workdir / "server.log").open("w"),
    )
    try:
        stack_mod.wait_until(lambda: stack_mod.ready(f"http://127.0.0.1:{port}"), "embedded up")
        key = next(w for w in (workdir / "stdout.txt").read_text().split() if w.startswith("lw_"))
        yield {
            "url": f"http://127.0.0.1:{port}",
            "key": key,
            "pids": {"laborwatch run": process.pid},
            "sqlite": workdir / "var" / "laborwatch.db",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        out.close()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def three_processes() -> Iterator[dict[str, Any]]:
    """The stack: PostgreSQL, the broker, three `laborwatch serve` processes (the pipeline
    alone, as every earlier run on docs/benchmarks.md measured it; the stack's other services
    have benchmarks of their own)."""
    pipeline = ("intake", "grading", "notifier")
    with stack_mod.for_bench("pipeline", pipeline, base_port=8010, kafka_port=9093) as s:
        yield {
            "url": s.url("intake"),
            "key": s.admin_key,
            "pids": {f"serve {n}": p.pid for n, p in s.processes.items()},
            "pg": s.database_url.replace("postgresql+asyncpg://", "postgresql://"),
        }


# ----------------------------------------------------------------------------- end to end


async def end_to_end_pg(dsn: str, run: str) -> list[float]:
    """Seconds from a report's acceptance to its notification row (with due_at)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT EXTRACT(EPOCH FROM (min(n.created_at) - r.received_at)) AS lag
            FROM intake_reports r
            JOIN grading_incident_reports g ON g.report_id = r.id
            JOIN notifier_notifications n ON n.incident_id = g.incident_id
            WHERE r.source_ref LIKE $1 AND n.kind = 'responsible' AND n.due_at IS NOT NULL
            GROUP BY r.id, r.received_at""",
            f"{run}-%",
        )
    finally:
        await conn.close()
    return [float(r["lag"]) for r in rows]


def end_to_end_sqlite(path: Path, run: str) -> list[float]:
    """The same, on the embedded default's SQLite file."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            """
            SELECT r.received_at, min(n.created_at)
            FROM intake_reports r
            JOIN grading_incident_reports g ON g.report_id = r.id
            JOIN notifier_notifications n ON n.incident_id = g.incident_id
            WHERE r.source_ref LIKE ? AND n.kind = 'responsible' AND n.due_at IS NOT NULL
            GROUP BY r.id, r.received_at""",
            (f"{run}-%",),
        ).fetchall()
    return [
        (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds()
        for a, b in rows
    ]


def measure_e2e(server: dict[str, Any], *, seconds: int, rate: int) -> dict[str, Any]:
    """Offer `rate` reports/s, then wait for every notification and measure the lag (and the
    accept latency of the same load)."""
    run = "e2e" + uuid.uuid4().hex[:6]
    connections = max(WRK_THREADS, min(200, rate // 5))  # each sends every 200 ms at most
    load = wrk(
        server["url"], server["key"], seconds=seconds, connections=connections, rate=rate, run=run
    )
    accepted = load["requests"] - load["errors"] - load["status_errors"]
    deadline = time.monotonic() + 120
    lags: list[float] = []
    while time.monotonic() < deadline:
        lags = (
            asyncio.run(end_to_end_pg(server["pg"], run))
            if "pg" in server
            else end_to_end_sqlite(server["sqlite"], run)
        )
        if len(lags) >= accepted:
            break
        time.sleep(2)
    return {
        "rate": rate,
        "offered_per_s": load["offered_per_s"],
        "accepted": accepted,
        "notified": len(lags),
        "p50_s": percentile(lags, 50) if lags else None,
        "p99_s": percentile(lags, 99) if lags else None,
        "accept_p50_us": load["p50_us"],
        "accept_p99_us": load["p99_us"],
    }


# ---------------------------------------------------------------------------------- drain

_BACKLOG = """
    SELECT (SELECT count(*) FROM intake_reports)
         - (SELECT count(*) FROM notifier_notifications WHERE kind = 'responsible')"""
# Events not yet relayed, and events applied: the pipeline is quiet when the first is 0 and the
# second stops growing (grading still records the notifier's events after the notifications).
_ACTIVITY = "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM processed_events)"


def query(server: dict[str, Any], sql: str) -> tuple[int, ...]:
    """One row of counts from the server's database."""
    if "pg" in server:

        async def fetch() -> tuple[int, ...]:
            conn = await asyncpg.connect(server["pg"])
            try:
                return tuple(int(v) for v in await conn.fetchrow(sql))
            finally:
                await conn.close()

        return asyncio.run(fetch())
    import sqlite3

    with sqlite3.connect(server["sqlite"]) as conn:
        return tuple(int(v) for v in conn.execute(sql).fetchone())


def vacuum(server: dict[str, Any]) -> None:
    """Vacuum and analyze the stack's database, as autovacuum would have done meanwhile.

    Some servers run with autovacuum off (this machine's does); the outbox, a queue that
    every event passes through, then keeps every dead row, and each relay wades through more
    of them than it would on a server as deployed.
    """
    if "pg" not in server:
        return

    async def run() -> None:
        conn = await asyncpg.connect(server["pg"])
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()

    asyncio.run(run())


async def autovacuum(dsn: str) -> str:
    """The server's autovacuum setting, for the record."""
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW autovacuum"))
    finally:
        await conn.close()


def drain(server: dict[str, Any], *, timeout: float = 900) -> dict[str, Any]:
    """Wait until the pipeline has caught up with what was accepted, and is quiet; say how long
    the catching up took (every bench report warns, on an enterprise of its own, so each makes
    exactly one responsible notification)."""
    start = time.monotonic()
    (left,) = query(server, _BACKLOG)
    first = left
    while left > 0 and time.monotonic() - start < timeout:
        time.sleep(1)
        (left,) = query(server, _BACKLOG)
    caught_up = time.monotonic() - start
    before = None
    while time.monotonic() - start < timeout:
        now = query(server, _ACTIVITY)
        if now[0] == 0 and now == before:
            break
        before = now
        time.sleep(1)
    vacuum(server)
    return {"backlog": first, "seconds": caught_up, "left": left}


# --------------------------------------------------------------------------------- floors


async def asyncpg_floor(dsn: str, *, seconds: float, concurrency: int = 16) -> float:
    """Intake's transaction, bare: one report row and one outbox row, committed; per second."""
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    payload = b'{"specversion":"1.0"}' * 40
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.monotonic() < stop:
                async with conn.transaction():
                    rid = str(uuid.uuid4())
                    await conn.execute(
                        "INSERT INTO intake_reports (id, channel, source, source_ref, "
                        "jurisdiction, region, affected_regions, occurred_at, received_at, "
                        "enterprise_name, category, workers_involved, amount_yuan, terminations,"
                        " collective_action, extreme_individual, potential_major_impact) VALUES "
                        "($1,'rest','agency',$1,'changchun','chaoyang','[\"chaoyang\"]',now(),"
                        "now(),'floor','wage_arrears',35,1200000,0,'possible',false,false)",
                        rid,
                    )
                    await conn.execute(
                        "INSERT INTO outbox (producer, topic, key, payload, created_at) "
                        "VALUES ('floor', 'floor', $1, $2, now())",
                        rid,
                        payload,
                    )
                done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM outbox WHERE producer = 'floor'")
        await conn.execute("DELETE FROM intake_reports WHERE enterprise_name = 'floor'")
    await pool.close()
    return done / seconds


def bare_fastapi_floor(*, seconds: int, port: int = 8019) -> dict[str, Any]:
    """wrk against a FastAPI endpoint that parses the body and stores nothing."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        stack_mod.wait_until(lambda: stack_mod.listening(port), "the bare app listening")
        return wrk(f"http://127.0.0.1:{port}", "none", seconds=seconds, connections=64)
    finally:
        process.terminate()
        process.wait(10)


# ------------------------------------------------------------------------------ deadlines


async def deadline_lag(dsn: str, *, count: int, spread_s: float) -> dict[str, Any]:
    """Load `count` pending deadlines due over the next `spread_s` seconds; measure how late
    the running notifier marks each overdue."""
    conn = await asyncpg.connect(dsn)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    records = []
    for i in range(count):
        due = start + dt.timedelta(seconds=spread_s * i / count)
        records.append(
            (
                str(uuid.uuid4()),
                str(uuid.uuid4()),
                "xuanen",
                "xuanen.zhushan.tripartite",
                "responsible",
                "level1",
                "一级预警",
                "xuanen-2021",
                f"bench-{i}",
                due - dt.timedelta(hours=6),
                due,
                "pending",
                False,
                21600.0,
                "[]",
                "[]",
                0,
                "{}",
                False,
                start - dt.timedelta(seconds=1),
            )
        )
    await conn.copy_records_to_table(
        "notifier_notifications",
        records=records,
        columns=[
            "id",
            "incident_id",
            "jurisdiction",
            "body_id",
            "kind",
            "level",
            "level_label",
            "policy",
            "warning_id",
            "issued_at",
            "due_at",
            "status",
            "late",
            "limit_seconds",
            "escalation_chain",
            "reminder_fractions",
            "reminders_sent",
            "summary",
            "drill",
            "created_at",
        ],
    )
    await asyncio.sleep((start - dt.datetime.now(dt.UTC)).total_seconds() + spread_s)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        left = await conn.fetchval(
            "SELECT count(*) FROM notifier_notifications WHERE warning_id LIKE 'bench-%' "
            "AND status = 'pending'"
        )
        if left == 0:
            break
        await asyncio.sleep(1)
    lags = [
        float(r["lag"])
        for r in await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM (l.detected_at - l.due_at)) AS lag "
            "FROM notifier_late_reports l JOIN notifier_notifications n "
            "ON n.id = l.notification_id "
            "WHERE n.warning_id LIKE 'bench-%'"
        )
    ]
    await conn.close()
    return {
        "deadlines": count,
        "fired": len(lags),
        "p50_s": percentile(lags, 50),
        "p99_s": percentile(lags, 99),
        "max_s": max(lags),
    }


# ----------------------------------------------------------------------------------- main


def bench_mode(
    name: str, server: dict[str, Any], seconds: int, fixed_seconds: int
) -> dict[str, Any]:
    """Every measurement of one mode."""
    # Each measure starts from an idle pipeline: the backlog one load leaves behind is
    # drained (and timed) first, so that no measure pays for the one before it.
    print(f"[{name}] sustained load for {seconds}s …", flush=True)
    sustained = wrk(server["url"], server["key"], seconds=seconds, connections=64)
    print(f"[{name}] draining the backlog …", flush=True)
    drained = drain(server)
    print(f"[{name}] fixed offered load ~1000/s for {fixed_seconds}s …", flush=True)
    fixed = wrk(server["url"], server["key"], seconds=fixed_seconds, connections=200, rate=1000)
    drain(server)
    print(f"[{name}] end to end at ~500/s for {fixed_seconds}s …", flush=True)
    e2e = measure_e2e(server, seconds=fixed_seconds, rate=500)
    drain(server)
    # The targets' loads may be more than this machine carries; latency is then mostly queueing.
    # At half the rate it sustained, the same measures show what a report costs in time.
    half = max(10, round(sustained["accepted_per_s"] / 2))
    print(f"[{name}] accept and end to end at half that rate, {half}/s …", flush=True)
    e2e_half = measure_e2e(server, seconds=fixed_seconds, rate=half)
    drain(server)
    memory = {proc: rss_mb(pid) for proc, pid in server["pids"].items()}
    return {
        "sustained": sustained,
        "drain_after_sustained": drained,
        "fixed_1000": fixed,
        "e2e_500": e2e,
        "e2e_half": e2e_half,
        "memory": memory,
    }


def main() -> None:
    """Run the benchmark and print (and optionally write) the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60, help="sustained-load duration")
    parser.add_argument("--fixed-seconds", type=int, default=20)
    parser.add_argument("--modes", default="embedded,stack")
    parser.add_argument("--deadlines", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "results.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing (Debian: apt-get install wrk)")
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "when": dt.datetime.now(dt.UTC).isoformat(),
        }
    }
    modes = args.modes.split(",")
    if "embedded" in modes:
        with embedded() as server:
            results["embedded"] = bench_mode("embedded", server, args.seconds, args.fixed_seconds)
    if "stack" in modes:
        with three_processes() as server:
            results["machine"]["postgresql_autovacuum"] = asyncio.run(autovacuum(server["pg"]))
            results["stack"] = bench_mode("stack", server, args.seconds, args.fixed_seconds)
            print("[stack] floor: asyncpg two-row transaction …", flush=True)
            results["floor_asyncpg_per_s"] = asyncio.run(asyncpg_floor(server["pg"], seconds=10))
            vacuum(server)
            print(f"[stack] {args.deadlines} pending deadlines …", flush=True)
            results["deadlines"] = asyncio.run(
                deadline_lag(server["pg"], count=args.deadlines, spread_s=60)
            )
    print("[floor] bare FastAPI endpoint …", flush=True)
    results["floor_fastapi"] = bare_fastapi_floor(seconds=min(args.seconds, 20))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(report(results))


def _at(r: dict[str, Any], mode: str, path: list[str]) -> float | None:
    value: Any = r.get(mode)
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if value is not None else None


def report(r: dict[str, Any]) -> str:
    """The results as a Markdown table, with the ratios to the floors."""
    lines = [
        "| measure | embedded | stack (PostgreSQL + Kafka protocol) | target (stack) |",
        "|---|---|---|---|",
    ]
    rows = [
        ("accepted reports/s, sustained", ["sustained", "accepted_per_s"], 1, "≥ 1,500"),
        ("backlog the sustained load left (reports)", ["drain_after_sustained", "backlog"], 1, ""),
        ("time to drain that backlog (s)", ["drain_after_sustained", "seconds"], 1, ""),
        ("p50 accept latency at ~1,000/s offered (ms)", ["fixed_1000", "p50_us"], 1e-3, ""),
        ("p99 accept latency at ~1,000/s offered (ms)", ["fixed_1000", "p99_us"], 1e-3, "≤ 100"),
        ("rate that load reached (sent/s)", ["fixed_1000", "offered_per_s"], 1, "1,000"),
        ("end-to-end p50 at ~500/s offered (s)", ["e2e_500", "p50_s"], 1, ""),
        ("end-to-end p99 at ~500/s offered (s)", ["e2e_500", "p99_s"], 1, "≤ 1"),
        ("rate that load reached (sent/s)", ["e2e_500", "offered_per_s"], 1, "500"),
        ("half the sustained rate, offered (/s)", ["e2e_half", "rate"], 1, ""),
        ("p50 accept latency at that rate (ms)", ["e2e_half", "accept_p50_us"], 1e-3, ""),
        ("p99 accept latency at that rate (ms)", ["e2e_half", "accept_p99_us"], 1e-3, ""),
        ("end-to-end p50 at that rate (s)", ["e2e_half", "p50_s"], 1, ""),
        ("end-to-end p99 at that rate (s)", ["e2e_half", "p99_s"], 1, ""),
    ]
    for label, path, scale, target in rows:
        cells = []
        for mode in ("embedded", "stack"):
            value = _at(r, mode, path)
            cells.append("–" if value is None else f"{value * scale:,.{1 if scale != 1 else 2}f}")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
    for mode in ("embedded", "stack"):
        for proc, mem in (r.get(mode) or {}).get("memory", {}).items():
            lines.append(
                f"| RSS of `{proc}` ({mode}), now / peak (MiB) | "
                f"{mem['rss']:.0f} / {mem['peak']:.0f} | | |"
            )
    if "deadlines" in r:
        d = r["deadlines"]
        lines.append(
            f"| {d['deadlines']:,} pending deadlines: overdue detection lag p50 / p99 (s) | | "
            f"{d['p50_s']:.2f} / {d['p99_s']:.2f} | p99 ≤ 2 |"
        )
    floor_api = r["floor_fastapi"]["accepted_per_s"]
    lines.append(f"| floor: bare FastAPI endpoint (req/s) | {floor_api:,.0f} | | |")
    if "floor_asyncpg_per_s" in r:
        lines.append(
            f"| floor: asyncpg two-row transaction (/s) | | {r['floor_asyncpg_per_s']:,.0f} | |"
        )
    for mode in ("embedded", "stack"):
        if mode in r:
            rate = r[mode]["sustained"]["accepted_per_s"]
            lines.append(
                f"| ratio ({mode}): accepted / bare FastAPI | {rate / floor_api:.3f} | | |"
            )
            if mode == "stack" and "floor_asyncpg_per_s" in r:
                ratio = rate / r["floor_asyncpg_per_s"]
                lines.append(f"| ratio (stack): accepted / asyncpg floor | | {ratio:.3f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

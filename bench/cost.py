"""What a report costs each part of the stack, in CPU: `python bench/cost.py [--seconds 30]`.

The stack under the sustained load (64 connections, after a warm-up): the CPU time of each
`serve` process, of every PostgreSQL backend and of the whole machine, read from /proc before
and after, divided by the reports accepted; and, over the same seconds, PostgreSQL's buffer
hits a report for each table that had any (`pg_statio_user_tables`). Then the same CPU
counted until the pipeline has caught up with the load: a part that falls behind under the
load looks cheaper than it is in the first figures. Run it on the old code and the new
alternately: the machine's speed moves by a third from one quarter hour to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import run as bench_run

_HZ = os.sysconf("SC_CLK_TCK")
_HITS = "SELECT relname, coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) AS hits "
_HITS += "FROM pg_statio_user_tables"


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user and system) the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _HZ


def postgres_cpu() -> float:
    """Seconds of CPU every PostgreSQL process has used."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                total += process_cpu(int(entry.name))
        except OSError:
            continue  # a backend that ended meanwhile
    return total


def machine_cpu() -> float:
    """Seconds of CPU the whole machine has used (all but idle and I/O wait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _HZ


def table_hits(dsn: str) -> dict[str, int]:
    """Buffer hits (heap and index) of each table so far."""

    async def fetch() -> dict[str, int]:
        conn = await asyncpg.connect(dsn)
        try:
            return {r["relname"]: int(r["hits"]) for r in await conn.fetch(_HITS)}
        finally:
            await conn.close()

    return asyncio.run(fetch())


def snapshot(stack: dict[str, Any]) -> dict[str, Any]:
    """Every counter, now."""
    cpu = {name.split()[-1]: process_cpu(pid) for name, pid in stack["pids"].items()}
    cpu |= {"postgresql": postgres_cpu(), "machine": machine_cpu()}
    return {"cpu": cpu, "hits": table_hits(stack["pg"])}


def caught_up(stack: dict[str, Any], timeout: float = 600) -> float:
    """Wait until every accepted report has its notification; say how long that took."""
    start = time.monotonic()
    while bench_run.query(stack, bench_run._BACKLOG)[0] > 0:
        if time.monotonic() - start > timeout:
            raise TimeoutError("the pipeline did not catch up")
        time.sleep(0.5)
    return time.monotonic() - start


def per_report(before: dict[str, Any], after: dict[str, Any], reports: int) -> dict[str, float]:
    """CPU ms a report of each part between two snapshots."""
    return {
        part: round((t - before["cpu"][part]) * 1000 / reports, 3)
        for part, t in after["cpu"].items()
    }


def measure(seconds: int) -> dict[str, Any]:
    """The stack's cost a report under the sustained load, and until it has caught up."""
    with bench_run.three_processes() as stack:
        bench_run.wrk(stack["url"], stack["key"], seconds=5, connections=64)
        bench_run.drain(stack)
        before = snapshot(stack)
        load = bench_run.wrk(stack["url"], stack["key"], seconds=seconds, connections=64)
        after = snapshot(stack)
        catching_up = caught_up(stack)
        settled = snapshot(stack)
    reports = load["requests"] - load["errors"] - load["status_errors"]
    hits = {
        table: round((n - before["hits"].get(table, 0)) / reports, 1)
        for table, n in after["hits"].items()
        if n - before["hits"].get(table, 0) >= reports
    }
    return {
        "accepted_per_s": round(load["accepted_per_s"], 1),
        "cpu_ms_a_report": per_report(before, after, reports),
        "seconds_to_catch_up": round(catching_up, 1),
        "cpu_ms_a_report_caught_up": per_report(before, settled, reports),
        "buffer_hits_a_report": dict(sorted(hits.items(), key=lambda kv: -kv[1])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=30)
    print(json.dumps(measure(parser.parse_args().seconds), indent=1))


if __name__ == "__main__":
    main()

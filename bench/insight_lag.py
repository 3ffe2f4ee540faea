"""Insight's lag under the stack's sustained load: does the read model keep up?

    python -m bench.insight_lag [--seconds 60]

Intake, grading, the notifier and insight run as processes of their own (PostgreSQL and the
broker, as `make stack`), and wrk offers the sustained load of `make bench` (64 connections,
each sending as soon as it has its answer). Every 0.2 s the bench counts the reports insight
has counted, and, as the floor, those grading has placed in incidents: the pipeline's own
first hop from intake, under the same load. Taking the reports in the order intake accepted
them, the k-th one is in the read model at the first sample where insight holds k reports:
its lag is that moment less the time intake accepted it. Sampling adds up to 0.2 s. The
first seconds of the load (`--warm-up`, 5 s) are printed apart: a stack just started fills
its caches, pools and consumers' first fetches then, and the question is whether the read
model keeps up with a sustained rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.run import ROOT, percentile, wrk
from scripts import stack as stack_mod

SAMPLE_SECONDS = 0.2
# Where each reader keeps a row per report: insight's read model, and grading beside it (the
# pipeline's own first hop from intake, under the same load: the floor of the same run).
TABLES = {"insight": "insight_reports", "grading": "grading_incident_reports"}


class Sampler:
    """Counts, in a thread of its own, the reports in `table` every `SAMPLE_SECONDS`."""

    def __init__(self, dsn: str, table: str) -> None:
        self.dsn, self.table = dsn, table
        self.samples: list[tuple[float, int]] = []  # (epoch seconds, the count)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self.stop.is_set():
                counted = await conn.fetchval(f"SELECT count(*) FROM {self.table}")  # noqa: S608
                self.samples.append((time.time(), counted))
                await asyncio.sleep(SAMPLE_SECONDS)
        finally:
            await conn.close()


async def _accepted(dsn: str) -> list[float]:
    """When intake accepted each report, in order (epoch seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM received_at)::float8 AS t FROM intake_reports ORDER BY 1"
        )
    finally:
        await conn.close()
    return [r["t"] for r in rows]


def lags(accepted: list[float], samples: list[tuple[float, int]]) -> list[tuple[float, float]]:
    """Each report's (acceptance, lag): the lag is the time to the first sample holding as
    many reports as were accepted up to it."""
    out, s = [], 0
    for k, at in enumerate(accepted, start=1):
        while s < len(samples) and samples[s][1] < k:
            s += 1
        if s == len(samples):
            break  # never counted within the run: left out, and said below
        out.append((at, max(0.0, samples[s][0] - at)))
    return out


def _figures(got: list[float]) -> dict[str, float]:
    return {
        "lag_p50_s": percentile(got, 50) if got else float("nan"),
        "lag_p99_s": percentile(got, 99) if got else float("nan"),
        "lag_max_s": max(got, default=0.0),
    }


def measure(seconds: int, drain_timeout: float, warm_up: float) -> dict[str, Any]:
    """Start the four processes, offer the load, sample, and work out the lags."""
    services = ("intake", "grading", "notifier", "insight")
    with stack_mod.for_bench("insight_lag", services, base_port=8040, kafka_port=9096) as s:
        dsn = s.database_url.replace("postgresql+asyncpg://", "postgresql://")
        samplers = {name: Sampler(dsn, table) for name, table in TABLES.items()}
        for sampler in samplers.values():
            sampler.thread.start()
        print(f"sustained load for {seconds} s (intake, grading, notifier, insight) …", flush=True)
        load = wrk(s.url("intake"), s.admin_key, seconds=seconds, connections=64)
        accepted = asyncio.run(_accepted(dsn))
        deadline = time.monotonic() + drain_timeout
        for sampler in samplers.values():
            while time.monotonic() < deadline and (
                not sampler.samples or sampler.samples[-1][1] < len(accepted)
            ):
                time.sleep(SAMPLE_SECONDS)
            sampler.stop.set()
            sampler.thread.join(5)
    result: dict[str, Any] = {
        "seconds": seconds,
        "accepted": len(accepted),
        "accepted_per_s": load["accepted_per_s"],
    }
    start = accepted[0] if accepted else 0.0
    for name, sampler in samplers.items():
        got = lags(accepted, sampler.samples)
        result[name] = {
            "counted": len(got),
            **_figures([lag for at, lag in got if at >= start + warm_up]),
            "whole_run": _figures([lag for _, lag in got]),
        }
    return result


def main() -> None:
    """Parse the arguments, measure, print and keep the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument(
        "--warm-up", type=float, default=5, help="first seconds of the load not counted"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "insight_lag.json")
    args = parser.parse_args()
    r = measure(args.seconds, args.drain_timeout, args.warm_up)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(r, indent=2))
    print(
        f"{r['seconds']} s of sustained load: {r['accepted']} reports accepted "
        f"({r['accepted_per_s']:.0f}/s); from intake's acceptance to each reader, after the "
        f"first {args.warm_up:g} s (the whole run in brackets):"
    )
    for name in TABLES:
        x, w = r[name], r[name]["whole_run"]
        print(
            f"  {name:8} {x['counted']:6} counted   lag p50 {x['lag_p50_s']:5.2f} s "
            f"({w['lag_p50_s']:.2f})   p99 {x['lag_p99_s']:5.2f} s ({w['lag_p99_s']:.2f})   "
            f"max {x['lag_max_s']:5.2f} s ({w['lag_max_s']:.2f})"
            + ("   target: p99 ≤ 2 s" if name == "insight" else "   the floor")
        )


if __name__ == "__main__":
    main()

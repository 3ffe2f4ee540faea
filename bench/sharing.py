"""Does sharing with partners slow the bodies' warnings? End-to-end time from a report's
acceptance to its warning's delivery to the responsible body's webhook, without subscriptions
and with 20 of them, one of which times out on every call.

    python bench/sharing.py [--modes stack,embedded] [--rate 10] [--seconds 20]
                            [--subscriptions 20] [--repeat 1]

Each mode runs twice on fresh databases, with a local receiver standing for the bodies and the
partners, and the same load offered to each: `stack` is intake, grading, the notifier and sharing as
processes of their own over PostgreSQL and the broker (as `make bench` runs the pipeline);
`embedded` is `laborwatch run` (SQLite, the in-process bus).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import LABORWATCH, percentile  # noqa: E402
from scripts import stack as stack_mod  # noqa: E402

BODIES = ("changchun.leading_group_office", "changchun.leading_group", "changchun.director")
_LAG = """
    SELECT r.received_at, min(d.sent_at)
    FROM intake_reports r
    JOIN grading_incident_reports g ON g.report_id = r.id
    JOIN notifier_notifications n ON n.incident_id = g.incident_id AND n.kind = 'responsible'
    JOIN notifier_deliveries d ON d.notification_id = n.id AND d.status = 'sent'
    WHERE r.source_ref LIKE {} GROUP BY r.id, r.received_at"""


class _Hook(asyncio.Protocol):
    """A receiver's connection: each POST answered 200 at once (keep-alive, as a partner's
    server would answer), but on `/dead`, never."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1")
            length = next(
                (int(line.split(":", 1)[1]) for line in head.split("\r\n")
                 if line.lower().startswith("content-length:")),
                0,
            )  # fmt: skip
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            self.buffer = self.buffer[end + 4 + length :]
            if head.split(" ", 2)[1] != "/dead":
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")


def _serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Hook, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


@contextmanager
def receiver() -> Iterator[str]:
    """A receiver for bodies and partners, in a process of its own and answering at little
    cost (the partners' servers stand elsewhere: the harness should take next to nothing from
    the machine it measures); `/dead` never answers, so each call to it times out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    process.start()
    try:
        stack_mod.wait_until(lambda: stack_mod.listening(port), "the receiver listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(5)


@contextmanager
def processes() -> Iterator[dict[str, Any]]:
    """Intake, grading and the notifier as processes of their own, on a fresh database."""
    with stack_mod.for_bench(
        "sharing",
        ("intake", "grading", "notifier", "sharing"),
        base_port=8020,
        kafka_port=9094,
        extra_env={"LABORWATCH_ALLOW_LOCAL_TARGETS": "true"},
    ) as s:
        dsn = s.database_url.replace("postgresql+asyncpg://", "postgresql://")
        yield {
            "intake": s.url("intake"),
            "notifier": s.url("notifier"),
            "sharing": s.url("sharing"),
            "key": s.admin_key,
            "lags": lambda run: asyncio.run(lags_pg(dsn, run)),
        }


@contextmanager
def laborwatch(port: int) -> Iterator[dict[str, Any]]:
    """`laborwatch run` on a fresh SQLite file, local webhook targets allowed."""
    workdir = Path(tempfile.mkdtemp(prefix="lw-bench-sharing-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")} | {
        "LABORWATCH_PORT": str(port),
        "LABORWATCH_LOG_LEVEL": "WARNING",
        "LABORWATCH_ALLOW_LOCAL_TARGETS": "true",
    }
    out = (workdir / "stdout.txt").open("w")
    process = subprocess.Popen(
        [LABORWATCH, "run"], cwd=workdir, env=env, stdout=out, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        stack_mod.wait_until(lambda: stack_mod.ready(url), "laborwatch up")
        key = next(w for w in (workdir / "stdout.txt").read_text().split() if w.startswith("lw_"))
        sqlite = workdir / "var" / "laborwatch.db"
        yield {
            "intake": url,
            "notifier": url,
            "sharing": url,
            "key": key,
            "lags": lambda run: lags(sqlite, run),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        out.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def configure(server: dict[str, Any], hooks: str, subscriptions: int) -> None:
    """Webhook channels for Changchun's bodies; the partners' subscriptions, one dead."""
    headers = {"Authorization": f"Bearer {server['key']}"}
    async with httpx.AsyncClient(base_url=server["notifier"], headers=headers) as client:
        for body in BODIES:
            channels = {"channels": [{"type": "webhook", "target": f"{hooks}/body"}]}
            r = await client.put(f"/v1/bodies/{body}/channels", json=channels)
            r.raise_for_status()
        for n in range(subscriptions):
            path = "/dead" if n == 0 else f"/partner/{n}"
            r = await client.post(
                f"{server['sharing']}/v1/subscriptions",
                json={
                    "name": f"partner {n}",
                    "department": f"部门{n}",
                    "jurisdiction": "changchun",
                    "url": hooks + path,
                    "events": ["incident.warning", "incident.closed"],
                },
            )
            r.raise_for_status()


async def offer(server: dict[str, Any], *, rate: float, seconds: float, run: str) -> int:
    """POST reports at a fixed rate, each on an enterprise of its own; how many were taken."""
    headers = {"Authorization": f"Bearer {server['key']}"}
    accepted = 0

    async def one(client: httpx.AsyncClient, n: int) -> None:
        nonlocal accepted
        body = {
            "source": "agency",
            "source_ref": f"{run}-{n}",
            "jurisdiction": "changchun",
            "region": "chaoyang",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            "enterprise": {"name": f"长春{uuid.uuid4().hex[:8]}劳务有限公司"},
            "category": "wage_arrears",
            "workers_involved": 35,
        }
        r = await client.post("/v1/reports", json=body)
        accepted += r.status_code == 202

    async with httpx.AsyncClient(base_url=server["intake"], headers=headers, timeout=30) as client:
        tasks, start = [], time.monotonic()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(client, n)))
        await asyncio.gather(*tasks)
    return accepted


def lags(path: Path, run: str) -> list[float]:
    """Seconds from each report's acceptance to its warning's delivery to the body."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(_LAG.format("?"), (f"{run}-%",)).fetchall()
    return [
        (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds()
        for a, b in rows
    ]


async def lags_pg(dsn: str, run: str) -> list[float]:
    """The same, on PostgreSQL."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_LAG.format("$1"), f"{run}-%")
    finally:
        await conn.close()
    return [(b - a).total_seconds() for a, b in rows]


def delivered(server: dict[str, Any], run: str, accepted: int) -> list[float]:
    """The run's lags, once every accepted report's warning reached its body (or 120 s)."""
    found: list[float] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(found) < accepted:
        time.sleep(1)
        found = server["lags"](run)
    return found


def measure(
    hooks: str, *, mode: str, subscriptions: int, rate: float, seconds: float
) -> dict[str, Any]:
    """One run on a fresh server: the p50 and p99 of reports to bodies, after a few seconds
    of the same load that warm it up (consumers joined, connections made) and are not counted."""
    with processes() if mode == "stack" else laborwatch(8031) as server:
        asyncio.run(configure(server, hooks, subscriptions))
        warm = "warm" + uuid.uuid4().hex[:6]
        delivered(server, warm, asyncio.run(offer(server, rate=rate, seconds=3, run=warm)))
        run = "share" + uuid.uuid4().hex[:6]
        accepted = asyncio.run(offer(server, rate=rate, seconds=seconds, run=run))
        found = delivered(server, run, accepted)
    return {
        "mode": mode,
        "subscriptions": subscriptions,
        "accepted": accepted,
        "delivered": len(found),
        "p50_s": percentile(found, 50) if found else None,
        "p99_s": percentile(found, 99) if found else None,
    }


def compare(hooks: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs without and with subscriptions, alternately; the ratio of the median p99s (the
    machine's other load varies from run to run)."""
    p99s: dict[int, list[float]] = {0: [], args.subscriptions: []}
    runs = []
    for _ in range(args.repeat):
        for n in p99s:
            run = measure(hooks, mode=mode, subscriptions=n, rate=args.rate, seconds=args.seconds)
            print(run, flush=True)
            runs.append(run)
            if run["p99_s"] is not None:
                p99s[n].append(run["p99_s"])
    without, with_ = (statistics.median(v) if v else None for v in p99s.values())
    ratio = with_ / without if without and with_ else None
    if ratio is not None:
        print(f"{mode}: p99 with {args.subscriptions} subscriptions, one dead: {ratio:.2f}x "
              f"without (target ≤ 1.10)", flush=True)  # fmt: skip
    return {"mode": mode, "runs": runs, "ratio": ratio}


def main() -> None:
    """Compare, in each mode asked for; keep the numbers in var/bench/sharing.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="stack,embedded")
    parser.add_argument("--rate", type=float, default=10, help="reports per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs")
    args = parser.parse_args()
    with receiver() as hooks:
        results = [compare(hooks, mode, args) for mode in args.modes.split(",")]
    out = ROOT / "var" / "bench" / "sharing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

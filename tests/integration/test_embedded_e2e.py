"""The embedded default end to end: `laborwatch run` as a real process, over real HTTP."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from libs.common.contracts import IncidentUpdated
from libs.common.events import INCIDENT_WARNING, REPORT_RECEIVED
from tests.conftest import WEBHOOK_SECRET, free_port
from tests.integration.test_intake_outcome import incident

LABORWATCH = str(Path(sys.executable).with_name("laborwatch"))


@dataclass
class Server:
    """A `laborwatch run` process on the embedded default."""

    workdir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    admin_key: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # more LABORWATCH_ settings

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.workdir / "var" / "laborwatch.db"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")}
        env |= {
            "LABORWATCH_PORT": str(self.port),
            "LABORWATCH_HOTLINE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LABORWATCH_LOG_JSON": "false",
        }
        env |= self.env
        with (
            (self.workdir / "stdout.txt").open("a") as out,
            (self.workdir / "server.log").open("a") as log,
        ):
            self.process = subprocess.Popen(
                [LABORWATCH, "run"], cwd=self.workdir, env=env, stdout=out, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.workdir / "server.log").read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("laborwatch run did not start")

    def read_first_admin_key(self) -> str:
        for line in (self.workdir / "stdout.txt").read_text().splitlines():
            if line.strip().startswith("lw_"):
                self.admin_key = line.strip()
                return self.admin_key
        raise AssertionError("no admin key printed")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(30)
        self.process = None
        return code

    def bus_events(self, topic: str) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT payload FROM bus_messages WHERE topic = ?", (topic,))
            return [orjson.loads(payload) for (payload,) in rows]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(workdir=tmp_path, port=free_port())
    yield s
    if s.process is not None:
        s.stop(signal.SIGKILL)


def wait_for(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


REPORT = {
    "source": "agency",
    "jurisdiction": "xuanen",
    "region": "zhushan",
    "occurred_at": "2026-11-20T09:30:00+08:00",
    "enterprise": {"name": "宣恩某建筑有限公司"},
    "category": "wage_arrears",
    "workers_involved": 60,
    "collective_action": "possible",
    "reporter": {"name": "张三", "phone": "13800138000"},
}


def test_embedded_default_accepts_publishes_learns_and_survives_restart(server: Server) -> None:
    server.start()
    key = server.read_first_admin_key()
    headers = {"Authorization": f"Bearer {key}"}

    assert httpx.get(server.url + "/docs").status_code == 200
    r = httpx.post(
        server.url + "/v1/reports", json=REPORT | {"source_ref": "E2E-1"}, headers=headers
    )
    assert r.status_code == 202, r.text
    report_id = r.json()["id"]

    events = wait_for(
        lambda: [e for e in server.bus_events(REPORT_RECEIVED) if e["subject"] == report_id]
    )
    assert len(events) == 1

    def incident_of_report() -> Any:
        got = httpx.get(f"{server.url}/v1/reports/{report_id}", headers=headers)
        return got.json()["incident_id"]

    # Grading places the report and warns; intake learns the incident from that event.
    graded = wait_for(incident_of_report)
    # An event as it would arrive on the bus, written into the log from outside.
    warning = IncidentUpdated(
        incident=incident([report_id], id_="inc-1", jurisdiction="xuanen")
    ).to_event(subject="inc-1", key="xuanen:x")
    with sqlite3.connect(server.db) as conn:
        conn.execute(
            "INSERT INTO bus_messages (topic, key, payload, created_at) "
            "VALUES (?, ?, ?, datetime('now'))",
            (INCIDENT_WARNING, "xuanen:x", warning.to_bytes()),
        )
    assert graded != "inc-1"
    wait_for(lambda: incident_of_report() == "inc-1")

    # A graceful stop: uvicorn finishes the lifespan, then re-raises the signal it caught.
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (server.workdir / "server.log").read_text()
    server.start()
    printed = (server.workdir / "stdout.txt").read_text().split()
    assert [w for w in printed if w.startswith("lw_")] == [key]  # on the first start only
    got = httpx.get(f"{server.url}/v1/reports/{report_id}", headers=headers)
    assert got.status_code == 200 and got.json()["incident_id"] == "inc-1"
    assert got.json()["reporter"] == {"name": "张*", "phone": "138****8000"}
    # The same request after the restart is still recognised.
    again = httpx.post(
        server.url + "/v1/reports", json=REPORT | {"source_ref": "E2E-1"}, headers=headers
    )
    assert again.status_code == 200 and again.json()["id"] == report_id
    assert len([e for e in server.bus_events(REPORT_RECEIVED) if e["subject"] == report_id]) == 1


def test_an_accepted_report_survives_a_crash(server: Server) -> None:
    server.start()
    headers = {"Authorization": f"Bearer {server.read_first_admin_key()}"}
    accepted = []
    for n in range(20):
        r = httpx.post(
            server.url + "/v1/reports",
            json=REPORT | {"source_ref": f"CRASH-{uuid.uuid4().hex[:6]}-{n}"},
            headers=headers,
        )
        assert r.status_code == 202
        accepted.append(r.json()["id"])
    server.stop(signal.SIGKILL)  # no chance to relay what is still in the outbox

    server.start()
    published = wait_for(
        lambda: {e["subject"] for e in server.bus_events(REPORT_RECEIVED)} >= set(accepted)
    )
    assert published
    subjects = [e["subject"] for e in server.bus_events(REPORT_RECEIVED)]
    assert sorted(subjects) == sorted(accepted)  # each exactly once

"""Kill -9 each service of the three-process stack in the middle of load: after a restart,
nothing accepted is lost and nothing is made twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from scripts.stack import LABORWATCH, Stack, ready, stack, wait_until
from tests.conftest import a_report, free_ports, pg_admin

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    intake, grading, notifier, insight, kafka = free_ports(5)
    database = f"laborwatch_kill_{uuid.uuid4().hex[:6]}"
    try:
        with stack(
            database=database,
            ports={"intake": intake, "grading": grading, "notifier": notifier, "insight": insight},
            kafka_port=kafka,
            fresh=True,
            log_dir=tmp_path_factory.mktemp("stack"),
        ) as running:
            yield running
    finally:  # the stack makes its database; the run leaves none behind
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def restart(s: Stack, name: str, log_dir: Path) -> None:
    """Start a killed service again, as an operator (or Kubernetes) would."""
    with (log_dir / f"{name}.restarted.log").open("ab") as log:
        s.processes[name] = subprocess.Popen(
            [LABORWATCH, "serve", name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=s.env | {"LABORWATCH_PORT": str(s.ports[name])},
        )
    wait_until(lambda: ready(s.url(name)), f"{name} ready again")


async def counts(dsn: str, run: str) -> tuple[int, int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT
              (SELECT count(*) FROM intake_reports WHERE source_ref LIKE $1) AS reports,
              (SELECT count(*) FROM grading_incident_reports g
                 JOIN intake_reports r ON r.id = g.report_id
                WHERE r.source_ref LIKE $1) AS placed,
              (SELECT count(*) FROM grading_incidents WHERE enterprise_name LIKE $2) AS incidents,
              (SELECT count(*) FROM notifier_notifications n
                 JOIN grading_incidents i ON i.id = n.incident_id
                WHERE i.enterprise_name LIKE $2 AND n.kind = 'responsible'
                  AND n.escalated_from IS NULL) AS notified""",
            f"{run}-%",
            f"%{run}%",
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["reports"]), int(row["placed"]), int(row["incidents"]), int(row["notified"])


@pytest.mark.parametrize("victim", ["grading", "notifier", "intake"])
async def test_kill_9_in_the_middle_of_load_loses_and_duplicates_nothing(
    three: Stack, victim: str, tmp_path: Path
) -> None:
    run = f"k{uuid.uuid4().hex[:6]}"
    accepted: set[str] = set()
    stop = asyncio.Event()

    async def load() -> None:
        n = 0
        async with httpx.AsyncClient(base_url=three.url("intake"), timeout=5) as client:
            while not stop.is_set():
                n += 1
                body = a_report(
                    source_ref=f"{run}-{n}",
                    enterprise={"name": f"长春{run}{n}有限公司"},
                    workers_involved=25,
                )
                # Like any careful client, retry what got no answer with the same body: a
                # report intake stored just before it died is then recognised, not doubled.
                while True:
                    try:
                        r = await client.post(
                            "/v1/reports",
                            json=body,
                            headers={"Authorization": f"Bearer {three.admin_key}"},
                        )
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                if r.status_code in (200, 202):
                    accepted.add(r.json()["id"])
                await asyncio.sleep(0.02)

    task = asyncio.create_task(load())
    await asyncio.sleep(3)
    three.processes[victim].send_signal(signal.SIGKILL)
    three.processes[victim].wait(10)
    await asyncio.sleep(2)
    await asyncio.to_thread(restart, three, victim, tmp_path)
    await asyncio.sleep(3)
    stop.set()
    await task
    assert len(accepted) > 50

    dsn = three.database_url.replace("postgresql+asyncpg://", "postgresql://")
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        reports, placed, incidents, notified = await counts(dsn, run)
        if notified >= len(accepted) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(1)
    assert reports == len(accepted)  # every accepted report stored, none twice
    assert placed == len(accepted)  # each graded once
    assert incidents == len(accepted)  # one enterprise each: one incident each
    assert notified == len(accepted)  # and one notification each

"""PostgreSQL goes away under load and comes back: 503s meanwhile, nothing half-written, and
the service recovers by itself.

The test runs a private PostgreSQL instance (initdb/pg_ctl on a free port), never the
machine's shared server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from laborwatch.migrate import upgrade
from services.grading.tables import IncidentReport
from services.intake.tables import Report
from tests.conftest import Running, a_report, eventually, free_port, make_settings, running

pytestmark = pytest.mark.postgres


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")
    return path


@dataclass
class PrivatePostgres:
    """A PostgreSQL instance of this test's own."""

    datadir: Path
    port: int

    def _run(self, *args: str) -> None:
        command = [_pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(
            "-l",
            str(self.datadir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self) -> None:
        self._run("-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/laborwatch"


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    # Not under pytest's tmp_path: the server's own user must be able to reach it.
    home = Path(tempfile.mkdtemp(prefix="laborwatch-pg-"))
    datadir = home / "data"
    datadir.mkdir()
    initdb = [_pg_bin("initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres"]
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(datadir, "postgres")
        initdb = ["runuser", "-u", "postgres", "--", *initdb]
    subprocess.run(initdb, check=True, capture_output=True, timeout=120)
    pg = PrivatePostgres(datadir, free_port())
    pg.start()

    async def create() -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres")
        await conn.execute("CREATE DATABASE laborwatch")
        await conn.close()

    asyncio.run(create())
    upgrade(pg.url)
    yield pg
    pg.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def system(private_pg: PrivatePostgres) -> AsyncIterator[Running]:
    async with running(make_settings(database_url=private_pg.url)) as r:
        yield r


async def test_requests_get_503_while_postgres_is_down_and_the_service_recovers(
    system: Running, private_pg: PrivatePostgres
) -> None:
    outcomes: list[tuple[int, str, dict[str, Any]]] = []
    stop = asyncio.Event()

    async def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = a_report(
                source_ref=f"PG-{uuid.uuid4().hex[:8]}-{n}",
                enterprise={"name": f"长春重启{n}有限公司"},
                workers_involved=25,
            )
            # A 503 says "retry": the client retries with the same body, so that a report
            # whose commit reached the server just as it went down is not counted twice.
            while True:
                r = await system.client.post("/v1/reports", json=body, headers=system.auth())
                outcomes.append((r.status_code, r.headers.get("content-type", ""), r.json()))
                if r.status_code != 503:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(load())
    await asyncio.sleep(1.0)
    await asyncio.to_thread(private_pg.stop)
    await asyncio.sleep(2.0)
    down = await system.client.get("/readyz")
    await asyncio.to_thread(private_pg.start)
    await asyncio.sleep(3.0)
    stop.set()
    await task

    assert down.status_code == 503
    statuses = [s for s, _, _ in outcomes]
    assert 500 not in statuses
    assert 503 in statuses, "the outage was not seen"
    assert statuses[-1] in (200, 202), "the service did not recover by itself"
    for status, content_type, body in outcomes:
        if status == 503:
            assert content_type == "application/problem+json" and body["status"] == 503
    accepted = {body["id"] for status, _, body in outcomes if status in (200, 202)}

    async def stored() -> set[str]:
        async with system.runtime.sessionmaker() as session:
            return set((await session.execute(select(Report.id))).scalars())

    assert await stored() == accepted  # nothing half-written, nothing accepted lost

    async def all_graded() -> bool:
        async with system.runtime.sessionmaker() as session:
            graded = await session.scalar(select(func.count()).select_from(IncidentReport))
        return graded == len(accepted)

    await eventually(all_graded, timeout=60)

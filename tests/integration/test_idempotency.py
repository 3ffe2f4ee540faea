"""Retries are safe: every v1.1 `POST` takes `Idempotency-Key` (libs.common.idempotency),
on SQLite and on PostgreSQL, with a route of its own so that the mechanism is tested apart
from the services that use it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from laborwatch.migrate import upgrade
from libs.common.auth import Principal, Role
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import install_problem_handlers
from libs.common.runtime import Runtime
from tests.conftest import assert_problem, make_settings, truncate_all

WHO = Principal(key_id="k1", name="clerk", role=Role.ADMIN, jurisdiction=None, body_id=None)


class Thing(BaseModel):
    name: str


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.fail_next = False
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()


def app_of(runtime: Runtime, counter: Counter) -> FastAPI:
    app = FastAPI()
    app.state.runtime = runtime
    install_problem_handlers(app)

    @app.post("/things")
    async def make(thing: Thing, idem: Annotated[Idempotent, idempotency("test")]) -> Any:
        async def call() -> dict[str, Any]:
            counter.calls += 1
            counter.started.set()
            if counter.gate is not None:
                await counter.gate.wait()
            if counter.fail_next:
                counter.fail_next = False
                raise RuntimeError("the work failed")
            return {"n": counter.calls, "name": thing.name}

        return await idem.run(WHO, thing, call, status_code=201)

    return app


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database (set up outside the event loop)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('idem') / 'x.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Counter]]:
    url = db_url
    runtime = Runtime.from_settings(make_settings(database_url=url))
    try:
        await truncate_all(runtime)
        counter = Counter()
        app = app_of(runtime, counter)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c, counter
    finally:
        await runtime.engine.dispose()


async def test_a_retry_gets_the_first_answer_and_does_nothing_again(
    client: tuple[httpx.AsyncClient, Counter],
) -> None:
    c, counter = client
    first = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k-1"})
    again = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"n": 1, "name": "a"}
    assert counter.calls == 1
    other = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k-2"})
    assert other.json()["n"] == 2
    plain = await c.post("/things", json={"name": "a"})
    assert plain.status_code == 201 and counter.calls == 3  # no key: no memory


async def test_the_same_key_with_another_body_is_409(
    client: tuple[httpx.AsyncClient, Counter],
) -> None:
    c, counter = client
    await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    clash = await c.post("/things", json={"name": "b"}, headers={"Idempotency-Key": "k"})
    assert "another request body" in assert_problem(clash, 409)["detail"]
    assert counter.calls == 1


async def test_a_failed_request_releases_its_key(
    client: tuple[httpx.AsyncClient, Counter],
) -> None:
    c, counter = client
    counter.fail_next = True
    failed = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    assert failed.status_code == 500
    retried = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    assert retried.status_code == 201 and retried.json()["n"] == 2


async def test_a_retry_while_the_first_is_answered_is_409(
    client: tuple[httpx.AsyncClient, Counter],
) -> None:
    c, counter = client
    counter.gate = asyncio.Event()
    first = asyncio.create_task(
        c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    )
    await counter.started.wait()
    second = await c.post("/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    assert "still being answered" in assert_problem(second, 409)["detail"]
    counter.gate.set()
    assert (await first).status_code == 201
    assert counter.calls == 1

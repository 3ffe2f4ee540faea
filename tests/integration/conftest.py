"""Intake's shared apps for the integration modules: one app per module, tables emptied per
test (starting an app per test would cost more than the tests), and the same tests run on
the embedded default and on PostgreSQL where a module asks for `system`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import delete

from laborwatch.migrate import upgrade
from libs.common.runtime import Runtime
from services.intake.tables import IdempotencyKey, Report, WebhookDelivery
from tests.conftest import Running, fresh_pg_database, make_settings, running, truncate_all


async def clear_intake(r: Running) -> None:
    """Empty intake's tables (the app, its keys and the bus stay)."""
    async with r.runtime.sessionmaker.begin() as session:
        for table in (Report, IdempotencyKey, WebhookDelivery):
            await session.execute(delete(table))


@pytest.fixture(scope="module")
def module_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An embedded database of this module's own, migrated."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    url = f"sqlite+aiosqlite:///{folder / 'laborwatch.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="module")
async def shared(module_db: str) -> AsyncIterator[Running]:
    """One embedded app for the module."""
    async with running(make_settings(database_url=module_db)) as r:
        yield r


@pytest.fixture
async def lw(shared: Running) -> Running:
    """The module's embedded app with intake's tables emptied."""
    await clear_intake(shared)
    return shared


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the module's embedded app, else a PostgreSQL database of the module's app's
    own (set up outside the loop). Not the session's: the app runs until the module ends, and
    the module's other tests empty the session's database under their own fixtures."""
    if request.param == "embedded":
        yield None
        return
    with fresh_pg_database("laborwatch_module") as url:
        yield url


@pytest.fixture(scope="module")
async def backend(database_url: str | None, shared: Running) -> AsyncIterator[Running]:
    """The module's embedded app, then the whole system on PostgreSQL."""
    if database_url is None:
        yield shared
    else:
        async with running(make_settings(database_url=database_url)) as r:
            yield r


@pytest.fixture
async def system(backend: Running) -> Running:
    """The whole system on SQLite, then on PostgreSQL, with intake's tables emptied."""
    await clear_intake(backend)
    return backend


@pytest.fixture
async def runtime(pg_url: str) -> AsyncIterator[Runtime]:
    """A runtime (no app) on the session's PostgreSQL database, every table emptied."""
    runtime = Runtime.from_settings(make_settings(database_url=pg_url))
    await truncate_all(runtime)
    yield runtime
    await runtime.engine.dispose()

"""Group commit on PostgreSQL: concurrent writes share a commit, and a bad one fails alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import is_database_outage
from libs.common.groupcommit import GroupCommit
from libs.common.runtime import Runtime
from libs.common.tables import ProcessedEvent
from tests.conftest import free_port, make_settings

pytestmark = pytest.mark.postgres


def row(event_id: str) -> Any:
    """A write adding one row, returning its id."""

    def write(session: AsyncSession) -> str:
        session.add(ProcessedEvent(consumer="group-commit-test", event_id=event_id))
        return event_id

    return write


def count_commits(runtime: Runtime) -> list[int]:
    commits = [0]

    @sa_event.listens_for(runtime.engine.sync_engine, "commit")
    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    return commits


async def stored(runtime: Runtime) -> set[str]:
    async with runtime.sessionmaker() as session:
        return set((await session.execute(select(ProcessedEvent.event_id))).scalars())


async def test_concurrent_writes_share_one_commit(runtime: Runtime) -> None:
    group = GroupCommit(runtime.sessionmaker)
    commits = count_commits(runtime)
    ids = [f"e{n}" for n in range(50)]

    results = await asyncio.gather(*(group.write(row(i)) for i in ids))

    assert results == ids
    assert await stored(runtime) == set(ids)
    assert 1 <= commits[0] <= 2  # fifty requests of one moment: one transaction, not fifty


async def test_a_write_that_breaks_a_constraint_fails_alone(runtime: Runtime) -> None:
    group = GroupCommit(runtime.sessionmaker)
    await group.write(row("taken"))
    ids = ["a", "b", "taken", "c", "d"]

    results = await asyncio.gather(*(group.write(row(i)) for i in ids), return_exceptions=True)

    assert isinstance(results[2], IntegrityError)
    assert [r for n, r in enumerate(results) if n != 2] == ["a", "b", "c", "d"]
    assert await stored(runtime) == {"taken", "a", "b", "c", "d"}


async def test_a_shared_commit_survives_a_caller_that_goes_away(runtime: Runtime) -> None:
    group = GroupCommit(runtime.sessionmaker)
    tasks = [asyncio.create_task(group.write(row(f"w{n}"))) for n in range(5)]
    await asyncio.sleep(0)  # every write queued, the commit under way
    tasks[0].cancel()

    done = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(done[0], asyncio.CancelledError)
    assert done[1:] == ["w1", "w2", "w3", "w4"]
    assert await stored(runtime) == {f"w{n}" for n in range(5)}  # the cancelled one's too


async def test_an_outage_fails_the_whole_group_at_once() -> None:
    away = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    runtime = Runtime.from_settings(make_settings(database_url=away))
    group = GroupCommit(runtime.sessionmaker)
    connects = [0]

    @sa_event.listens_for(runtime.engine.sync_engine, "do_connect")
    def on_connect(*_args: Any) -> None:
        connects[0] += 1

    try:
        results = await asyncio.gather(
            *(group.write(row(f"x{n}")) for n in range(10)), return_exceptions=True
        )
    finally:
        await runtime.engine.dispose()

    assert all(isinstance(r, Exception) and is_database_outage(r) for r in results), results
    assert connects[0] == 1  # not retried one by one against a server that is not there

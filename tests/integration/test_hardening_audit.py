"""Each incident's timeline is anchored: deleting its newest entry shows in the API and to
`laborwatch audit verify` (issue 12, "Audit"), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from laborwatch.cli import main
from services.grading.tables import TimelineEntry
from tests.conftest import SECRET, Running, a_report, make_settings, running, submit
from tests.integration.test_grading_flow import incident_of


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The session's SQLite database, then its PostgreSQL one."""
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
async def lw(db_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url=db_url)) as r:
        yield r


async def verify(lw: Running) -> tuple[int, str]:
    """Run `laborwatch audit verify` on the app's database, as an operator would (in a thread:
    the command runs its own event loop)."""
    return await asyncio.to_thread(_verify, lw)


def _verify(lw: Running) -> tuple[int, str]:
    env = {
        "LABORWATCH_DATABASE_URL": lw.runtime.settings.database_url,
        "LABORWATCH_SECRET_KEY": SECRET,
    }
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    return result.exit_code, result.output


async def settled(lw: Running, incident_id: str) -> None:
    """Wait until nothing more is appended to an incident's timeline (the notifier's and the
    case's entries arrive after the incident's own), so that the entry deleted below is the
    newest for good."""
    count, quiet_since = -1, asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - quiet_since < 1.0:
        async with lw.runtime.sessionmaker() as session:
            now = await session.scalar(
                select(func.count()).where(TimelineEntry.incident_id == incident_id)
            )
        if now != count:
            count, quiet_since = now or 0, asyncio.get_running_loop().time()
        await asyncio.sleep(0.1)


async def test_deleting_the_newest_timeline_entry_shows(lw: Running) -> None:
    incident = await incident_of(lw, await submit(lw, a_report()))
    assert incident["timeline_intact"] is True
    await settled(lw, incident["id"])
    assert (await verify(lw))[0] == 0

    async with lw.runtime.sessionmaker.begin() as session:
        newest = await session.scalar(
            select(func.max(TimelineEntry.id)).where(TimelineEntry.incident_id == incident["id"])
        )
        await session.execute(delete(TimelineEntry).where(TimelineEntry.id == newest))

    again = await lw.client.get(f"/v1/incidents/{incident['id']}", headers=lw.auth())
    assert again.json()["timeline_intact"] is False
    code, output = await verify(lw)
    assert code == 1, output
    assert incident["id"] in output and "missing" in output


async def test_an_edited_entry_is_named_by_audit_verify(lw: Running) -> None:
    incident = await incident_of(lw, await submit(lw, a_report()))
    async with lw.runtime.sessionmaker.begin() as session:
        first = await session.scalar(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident["id"])
            .order_by(TimelineEntry.id)
            .limit(1)
        )
        assert first is not None
        first.actor = "someone else"
    code, output = await verify(lw)
    assert code == 1
    assert f"incident {incident['id']}: entry 1" in output and "changed" in output

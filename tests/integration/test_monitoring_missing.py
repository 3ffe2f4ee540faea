"""The `missing` timer: due times live in the database, so a month without figures gets its
alert once, after a restart as well, and once across replicas (PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, update

from laborwatch import apps
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from services.intake.tables import Report
from services.monitoring.app import build_monitoring
from services.monitoring.tables import alerts, enterprises
from tests.conftest import eventually, make_settings, running
from tests.integration.monitoring_support import code, month, register, row, upload

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Runtime]:
    """The whole system started again on a database as it was left (nothing emptied)."""
    runtime = Runtime.from_settings(settings)
    async with LifespanManager(apps.all_in_one(runtime), startup_timeout=30):
        yield runtime


async def overdue(runtime: Runtime, credit_code: str, period: str) -> None:
    """Time passes: the month's figures are now past due."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with runtime.sessionmaker.begin() as s:
        await s.execute(
            update(enterprises)
            .where(enterprises.c.credit_code == credit_code)
            .values(missing_period=period, missing_due_at=past)
        )


async def missing_alerts(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.sessionmaker() as s:
        found = await s.execute(
            select(alerts.c.credit_code, alerts.c.period).where(alerts.c.kind == "missing")
        )
        return [(r[0], r[1]) for r in found]


async def test_a_missing_month_is_alerted_once_across_a_restart(pg_url: str) -> None:
    settings = make_settings(database_url=pg_url)
    late, on_time = code(21), code(22)
    async with running(settings) as first:
        await register(first, late)
        await register(first, on_time)
        assert (await upload(first, [row(on_time, month(1))])).status_code == 202
        async with first.runtime.sessionmaker() as s:
            due = await s.scalar(select(func.min(enterprises.c.missing_due_at)))
        assert due is not None and due > dt.datetime.now(dt.UTC)  # next month's, not yet
        assert await missing_alerts(first.runtime) == []
    # Stopped; meanwhile last month's figures fell due. The next process finds it.
    runtime = Runtime.from_settings(settings)
    await overdue(runtime, late, month(1))
    await overdue(runtime, on_time, month(1))
    await runtime.engine.dispose()
    async with serve(settings) as again:
        found = await eventually(lambda: missing_alerts(again))
        assert found == [(late, month(1))]
        async with again.sessionmaker() as s:
            timer = (
                await s.execute(
                    select(enterprises.c.missing_period, enterprises.c.missing_due_at).where(
                        enterprises.c.credit_code == late
                    )
                )
            ).one()
            reports = await s.scalar(select(func.count()).select_from(Report))
        assert timer[0] == month(0) and timer[1] > dt.datetime.now(dt.UTC)
        assert reports == 0  # a missing return files no report
    async with serve(settings) as third:
        await asyncio.sleep(0.5)
        assert await missing_alerts(third) == [(late, month(1))]


async def test_replicas_raise_a_missing_alert_once(pg_url: str) -> None:
    settings = make_settings(database_url=pg_url)
    async with running(settings) as lw:
        await register(lw, code(23))
    replicas = [Runtime.from_settings(settings) for _ in range(3)]
    # Last month's figures: the month after it falls due next month, whatever today's date (a
    # month before would fall due on the 5th of this one, already past from the 6th on).
    await overdue(replicas[0], code(23), month(1))
    try:
        turns = [build_monitoring(r).fire_missing(now=dt.datetime.now(dt.UTC)) for r in replicas]
        fired = await asyncio.gather(*turns)
        assert sum(fired) == 1
        assert await missing_alerts(replicas[0]) == [(code(23), month(1))]
    finally:
        for r in replicas:
            await r.engine.dispose()

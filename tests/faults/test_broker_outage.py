"""The broker is unreachable for 30 s under load: every accepted report is graded and
notified once it is back, none twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from services.grading.tables import Incident, IncidentReport
from services.notifier.tables import Notification
from tests.conftest import Broker, Running, a_report, eventually, make_settings, running

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

OUTAGE_SECONDS = 30


@pytest.fixture
async def system(pg_url: str, broker: Broker) -> AsyncIterator[Running]:
    settings = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap)
    async with running(settings) as r:
        yield r


async def test_every_report_accepted_during_an_outage_is_graded_and_notified_once(
    system: Running, broker: Broker
) -> None:
    run = uuid.uuid4().hex[:6]
    accepted: list[str] = []
    stop = asyncio.Event()

    async def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = a_report(
                source_ref=f"{run}-{n}",
                enterprise={"name": f"长春断线{run}{n}有限公司"},
                workers_involved=25,
            )
            r = await system.client.post("/v1/reports", json=body, headers=system.auth())
            assert r.status_code == 202, r.text  # intake never needs the broker to accept
            accepted.append(r.json()["id"])
            await asyncio.sleep(0.05)

    task = asyncio.create_task(load())
    await asyncio.sleep(2)
    broker.pause()
    try:
        await asyncio.sleep(OUTAGE_SECONDS)
    finally:
        broker.resume()
    await asyncio.sleep(2)
    stop.set()
    await task
    assert len(accepted) > 100

    async def settled() -> tuple[int, int, int] | None:
        async with system.runtime.sessionmaker() as session:
            placed = await session.scalar(select(func.count()).select_from(IncidentReport))
            incidents = await session.scalar(select(func.count()).select_from(Incident))
            notified = await session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.kind == "responsible", Notification.escalated_from.is_(None))
            )
        counts = (int(placed or 0), int(incidents or 0), int(notified or 0))
        return counts if counts[0] >= len(accepted) and counts[2] >= len(accepted) else None

    placed, incidents, notified = await eventually(settled, timeout=120)
    # One enterprise per report: one incident and one notification each, none twice.
    assert placed == incidents == notified == len(accepted)

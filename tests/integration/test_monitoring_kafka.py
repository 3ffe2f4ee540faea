"""A monitoring alert over the Kafka-protocol broker: published once, filed by intake as one
report, graded into an incident; a re-sent alert files nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from libs.common.events import MONITORING_ALERT, CloudEvent
from libs.common.tables import ProcessedEvent
from services.intake.tables import Report
from tests.conftest import Broker, Running, eventually, make_settings, running
from tests.integration.monitoring_support import code, month, register, row, upload
from tests.integration.test_kafka import produce, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def whole(pg_url: str, broker: Broker) -> AsyncIterator[Running]:
    """Every service, in one process, over the broker."""
    settings = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap)
    async with running(settings) as r:
        yield r


async def monitoring_reports(lw: Running) -> int:
    async with lw.runtime.sessionmaker() as s:
        count = await s.scalar(
            select(func.count()).select_from(Report).where(Report.source == "monitoring")
        )
    return int(count or 0)


async def test_an_alert_becomes_a_graded_incident_over_the_broker(
    whole: Running, broker: Broker
) -> None:
    c = code(31)
    await register(whole, c)
    before = row(c, month(2), headcount=300)
    now = row(c, month(1), headcount=200, layoffs=100)  # −33%, and 100 laid off
    r = await upload(whole, [before, now])
    assert r.status_code == 202, r.text
    raised = {(a["indicator"], a["kind"]) for a in r.json()["alerts"]}
    assert raised == {("headcount", "threshold"), ("layoffs", "threshold")}
    records = await read_topic(broker.bootstrap, MONITORING_ALERT, until=lambda rs: len(rs) >= 2)
    assert len(records) == 2
    assert all(rec.key == f"changchun:{c}".encode() for rec in records)

    async def graded() -> Any:
        got = await whole.client.get(
            f"/v1/monitoring/alerts?credit_code={c}", headers=whole.auth("analyst")
        )
        ids = [a["report_id"] for a in got.json()["items"]]
        if not ids or None in ids:
            return None
        report = await whole.client.get(f"/v1/reports/{ids[0]}", headers=whole.auth())
        return report.json()["incident_id"]

    incident_id = await eventually(graded, timeout=30)
    incident = (await whole.client.get(f"/v1/incidents/{incident_id}", headers=whole.auth())).json()
    # Both alerts are layoffs of one enterprise: one incident; 100 terminations ≥ 20 is red.
    assert incident["level"] == "red"
    assert len(incident["report_ids"]) == 2
    # The publisher sends an alert again (a new event id): intake files nothing new.
    first = CloudEvent.from_bytes(records[0].value)
    again = first.model_copy(update={"id": "resent-" + first.id}).to_bytes()
    await produce(broker.bootstrap, MONITORING_ALERT, [again, records[1].value], key=records[0].key)

    async def applied() -> Any:
        async with whole.runtime.sessionmaker() as s:
            return await s.scalar(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.consumer == "intake.monitoring",
                    ProcessedEvent.event_id == "resent-" + first.id,
                )
            )

    await eventually(applied, timeout=30)
    assert await monitoring_reports(whole) == 2

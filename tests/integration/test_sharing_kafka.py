"""Sharing over the real Kafka-protocol broker and PostgreSQL: a warning graded from a report
and a monitoring alert published on its topic (and the warning of the report intake files for
it) reach the partner, signed, once each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from libs.common.runtime import Runtime
from tests.conftest import Broker, a_report, eventually, submit, truncate_all
from tests.integration.partner import Receiver, alert, publish, serve, sharing_settings, subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
def partner() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def test_warnings_and_alerts_reach_a_partner_over_kafka(
    pg_url: str, broker: Broker, partner: Receiver
) -> None:
    settings = sharing_settings(pg_url, kafka_bootstrap_servers=broker.bootstrap)
    runtime = Runtime.from_settings(settings)
    await truncate_all(runtime)
    await runtime.engine.dispose()
    async with serve(settings) as system:
        events = ["incident.warning", "monitoring.alert"]
        _, secret = await subscribe(system, partner.url("/hook"), events=events)
        await submit(system, a_report())
        alert_id = await publish(system, alert(), subject="alert")

        # The report's warning, the alert, and the warning of the report intake files for
        # the alert (graded like any other).
        async def all_three() -> bool:
            return len(partner.at("/hook")) >= 3

        await eventually(all_three, timeout=60)
        calls = partner.at("/hook")
        types = sorted(c.verify(secret)["type"] for c in calls)
        assert types == [
            "laborwatch.shared.incident.warning.v1",
            "laborwatch.shared.incident.warning.v1",
            "laborwatch.shared.monitoring.alert.v1",
        ]
        assert alert_id in {c.headers["webhook-id"] for c in calls}
        await asyncio.sleep(1)
        assert len(partner.at("/hook")) == 3  # once each

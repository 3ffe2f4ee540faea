"""Insight over a real Kafka-protocol broker, on PostgreSQL: every figure of the known mix,
and a rebuild by a fresh consumer group from the earliest offset equals the live figures."""

from __future__ import annotations

import pytest

from services.insight.rebuild import rebuild
from tests.conftest import Broker, make_settings, running
from tests.integration.insight_mix import put_mix, quiet
from tests.integration.test_insight_statistics import settled, statistics

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_every_figure_over_kafka_and_rebuilt_equals_live(pg_url: str, broker: Broker) -> None:
    settings = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap)
    async with running(settings) as system:
        mix = await put_mix(system)
        live = await settled(system, mix)
        await quiet(system, mix)
        assert await rebuild(system.runtime, idle_seconds=4.0) >= 4 + 7 + 4
        assert await statistics(system, mix) == live

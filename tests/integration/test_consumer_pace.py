"""A consumer given a pace (`Consumer.per_second`) applies a large fetched batch in parts of a
tenth of a second's worth, in order, each committed before the next, and keeps to its rate."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus import Outgoing
from libs.common.consumer import Consumer, ConsumerRunner
from libs.common.events import CloudEvent, new_event
from libs.common.runtime import Runtime

pytestmark = pytest.mark.postgres

TOPIC = "laborwatch.paced.v1"


async def test_a_paced_consumer_applies_a_burst_a_tenth_of_a_second_at_a_time(
    runtime: Runtime,
) -> None:
    """50 events at 100 a second: parts of at most 10, in order, the last applied at least
    0.4 s after the first (four waits between five parts); none lost, none twice."""
    parts: list[tuple[float, list[int]]] = []

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        parts.append((asyncio.get_running_loop().time(), [e.data["n"] for e in events]))

    made = [new_event(service="t", type_="t", data={"n": n}, key="k") for n in range(50)]
    await runtime.bus.publish([Outgoing(TOPIC, "k", e.to_bytes()) for e in made])
    runner = ConsumerRunner(
        Consumer("test.paced", (TOPIC,), apply, per_second=100),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=runtime.outbox("t"),
    )
    task = asyncio.create_task(runner.run())
    for _ in range(200):
        if sum(len(ns) for _, ns in parts) >= 50:
            break
        await asyncio.sleep(0.05)
    runner.stop()
    await asyncio.wait_for(task, 5)
    applied = [n for _, ns in parts for n in ns]
    assert applied == list(range(50))
    assert all(len(ns) <= 10 for _, ns in parts), [len(ns) for _, ns in parts]
    assert parts[-1][0] - parts[0][0] >= 0.39


async def test_an_unpaced_consumer_applies_what_it_fetched_at_once(runtime: Runtime) -> None:
    """Without a pace, the fetched batch is one transaction, as before."""
    parts: list[list[int]] = []

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        parts.append([e.data["n"] for e in events])

    made = [new_event(service="t", type_="t", data={"n": n}, key="k") for n in range(50)]
    await runtime.bus.publish([Outgoing(TOPIC, "k", e.to_bytes()) for e in made])
    runner = ConsumerRunner(
        Consumer("test.unpaced", (TOPIC,), apply),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=runtime.outbox("t"),
    )
    task = asyncio.create_task(runner.run())
    for _ in range(100):
        if sum(map(len, parts)) >= 50:
            break
        await asyncio.sleep(0.05)
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert parts == [list(range(50))]

"""The idempotent consumer and the in-process bus on PostgreSQL, without the HTTP layer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus import Delivered, InProcessBus, Outgoing
from libs.common.consumer import Consumer, ConsumerRunner, each, is_outage
from libs.common.db import insert_at_commit
from libs.common.events import CloudEvent, new_event
from libs.common.runtime import Runtime
from libs.common.tables import BusMessage, DeadLetter, OutboxMessage, ProcessedEvent

pytestmark = pytest.mark.postgres


def delivered(event: CloudEvent | bytes, offset: int, topic: str = "laborwatch.t.v1") -> Delivered:
    value = event if isinstance(event, bytes) else event.to_bytes()
    return Delivered(topic=topic, key="k", value=value, partition=0, offset=offset)


async def test_the_consumer_applies_each_event_once_and_dead_letters_poison(
    runtime: Runtime,
) -> None:
    seen: list[int] = []

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.data.get("poison"):
            raise ValueError("cannot apply")
        seen.append(event.data["n"])

    outbox = runtime.outbox("test")
    runner = ConsumerRunner(
        Consumer("test.c", ("laborwatch.t.v1",), each(handle)),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=outbox,
        max_attempts=3,
        backoff_seconds=0,
    )
    one = new_event(service="test", type_="t", data={"n": 1}, key="k")
    poison = new_event(service="test", type_="t", data={"poison": True}, key="k")
    two = new_event(service="test", type_="t", data={"n": 2}, key="k")
    messages: list[CloudEvent | bytes] = [one, one, poison, b"{not json", two, poison]
    for offset, message in enumerate(messages):
        await runner.process(delivered(message, offset))

    assert seen == [1, 2]
    async with runtime.sessionmaker() as session:
        letters = list(
            (await session.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars()
        )
        processed = await session.scalar(select(func.count()).select_from(ProcessedEvent))
        dlq = list((await session.execute(select(OutboxMessage.topic))).scalars())
    # The poison is dead-lettered once: its second delivery is recognised as handled.
    assert [(d.event_id, d.attempts) for d in letters] == [(poison.id, 3), (None, 1)]
    assert processed == 3  # one, poison, two
    assert dlq == ["laborwatch.t.v1.dlq", "laborwatch.t.v1.dlq"]


async def test_a_batch_is_applied_in_one_transaction_and_a_poison_falls_back_to_one_by_one(
    runtime: Runtime,
) -> None:
    outbox = runtime.outbox("test")

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.data.get("poison"):
            raise ValueError("cannot apply")
        outbox.add_raw(session, topic="effects", key=None, payload=b"%d" % event.data["n"])

    async def effects() -> list[int]:
        async with runtime.sessionmaker() as session:
            rows = await session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.topic == "effects")
                .order_by(OutboxMessage.id)
            )
            return [int(p) for p in rows]

    commits = 0

    def count_commit(_connection: object) -> None:
        nonlocal commits
        commits += 1

    sa_event.listen(runtime.engine.sync_engine, "commit", count_commit)
    runner = ConsumerRunner(
        Consumer("test.b", ("laborwatch.t.v1",), each(handle)),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=outbox,
        max_attempts=2,
        backoff_seconds=0,
    )
    good = [new_event(service="t", type_="t", data={"n": n}, key="k") for n in range(50)]
    await runner.process_batch([delivered(e, i) for i, e in enumerate([*good, good[3]])])
    assert await effects() == list(range(50))  # in order, the repeated event once
    assert commits == 1

    poison = new_event(service="t", type_="t", data={"poison": True}, key="k")
    more = [new_event(service="t", type_="t", data={"n": n}, key="k") for n in (60, 61)]
    batch = [good[0], more[0], poison, more[1]]  # one already applied, one poison
    await runner.process_batch([delivered(e, 100 + i) for i, e in enumerate(batch)])
    sa_event.remove(runtime.engine.sync_engine, "commit", count_commit)

    # The batch rolled back whole, then each event went alone: 60 and 61 once, the poison
    # to the dead letters, the event applied before recognised.
    assert await effects() == [*range(50), 60, 61]
    async with runtime.sessionmaker() as session:
        letters = list(await session.scalars(select(DeadLetter.event_id)))
        processed = await session.scalar(
            select(func.count())
            .select_from(ProcessedEvent)
            .where(ProcessedEvent.consumer == "test.b")
        )
    assert letters == [poison.id]
    assert processed == 53


async def test_prepare_sees_once_per_transaction_the_events_about_to_be_handled(
    runtime: Runtime,
) -> None:
    prepared: list[list[str]] = []
    handled: list[str] = []

    async def prepare(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        prepared.append([e.id for e in events])

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        handled.append(event.id)

    runner = runtime.runner(
        Consumer("test.p", ("laborwatch.t.v1",), each(handle, prepare=prepare)), runtime.outbox("t")
    )
    a, b, c = (new_event(service="t", type_="t", data={}, key="k") for _ in range(3))
    await runner.process(delivered(a, 0))
    await runner.process_batch([delivered(e, i) for i, e in enumerate([a, b, c, b], 1)])
    # The applied event and the repeat are not prepared, nor handled.
    assert prepared == [[a.id], [b.id, c.id]]
    assert handled == [a.id, b.id, c.id]


async def test_rows_inserted_at_commit_keep_their_order_and_go_with_a_rollback(
    runtime: Runtime,
) -> None:
    def row(payload: bytes) -> dict[str, Any]:
        return {
            "producer": "test",
            "topic": "t",
            "key": None,
            "payload": payload,
            "created_at": dt.datetime.now(dt.UTC),
        }

    async def rolled_back(session: AsyncSession) -> None:
        async with session.begin():
            insert_at_commit(session, OutboxMessage, row(b"gone"))
            raise RuntimeError("rolled back")

    async with runtime.sessionmaker() as session:
        async with session.begin():
            for payload in (b"a", b"b", b"c"):
                insert_at_commit(session, OutboxMessage, row(payload))
        # The same session, a second transaction, rolled back; then a third.
        with pytest.raises(RuntimeError):
            await rolled_back(session)
        async with session.begin():
            insert_at_commit(session, OutboxMessage, row(b"d"))
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        assert list(rows) == [b"a", b"b", b"c", b"d"]


async def test_an_outage_is_waited_out_not_dead_lettered(runtime: Runtime) -> None:
    calls = 0

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:  # more failures than max_attempts allows
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("db restarting"))

    runner = ConsumerRunner(
        Consumer("test.o", ("laborwatch.t.v1",), each(handle)),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=runtime.outbox("test"),
        max_attempts=2,
        backoff_seconds=0,
        outage_retry_seconds=0,
    )
    await runner.process(delivered(new_event(service="t", type_="t", data={}, key="k"), 0))
    assert calls == 6
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0


def test_outage_classification() -> None:
    assert is_outage(OperationalError("x", {}, OSError()))
    assert is_outage(ConnectionRefusedError())
    assert not is_outage(ValueError("bad event"))
    assert not is_outage(KeyError("incident"))


async def test_in_process_bus_resumes_from_the_committed_position(runtime: Runtime) -> None:
    bus = InProcessBus(runtime.sessionmaker)
    await bus.publish([Outgoing("laborwatch.t.v1", "k", f"m{i}".encode()) for i in range(5)])
    sub = bus.subscribe(group="g", topics=["laborwatch.t.v1"])
    await sub.start()
    first = await sub.fetch(timeout=1)
    assert [m.value for m in first] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    # Like a Kafka consumer's position, the next fetch goes on after the last, committed or not.
    await bus.publish([Outgoing("laborwatch.t.v1", "k", b"m5")])
    assert [m.value for m in await sub.fetch(timeout=1)] == [b"m5"]
    await sub.commit(first[:3])
    await sub.stop()

    again = bus.subscribe(group="g", topics=["laborwatch.t.v1"])
    await again.start()
    rest = await again.fetch(timeout=1)
    assert [m.value for m in rest] == [b"m3", b"m4", b"m5"]
    await again.commit(rest)
    other_group = bus.subscribe(group="h", topics=["laborwatch.t.v1"])
    await other_group.start()
    assert len(await other_group.fetch(timeout=1)) == 6

    waiting = asyncio.create_task(again.fetch(timeout=5))
    await asyncio.sleep(0.05)
    await bus.publish([Outgoing("laborwatch.t.v1", "k", b"m6")])
    woken = await asyncio.wait_for(waiting, 2)  # woken by the publish, not by the timeout
    assert [m.value for m in woken] == [b"m6"]


async def test_in_process_bus_drops_what_every_group_has_read(runtime: Runtime) -> None:
    bus = InProcessBus(runtime.sessionmaker, retention=dt.timedelta(0))
    slow, fast = (bus.subscribe(group=g, topics=["laborwatch.t.v1"]) for g in ("slow", "fast"))
    await slow.start()
    await fast.start()
    await bus.publish([Outgoing("laborwatch.t.v1", "k", f"m{i}".encode()) for i in range(5)])
    everything = await fast.fetch(timeout=1)
    await fast.commit(everything)
    first_three = (await slow.fetch(timeout=1))[:3]
    await slow.commit(first_three)

    async with runtime.sessionmaker() as session:
        left = list(
            (await session.execute(select(BusMessage.payload).order_by(BusMessage.id))).scalars()
        )
    assert left == [b"m3", b"m4"]  # the slow group has not committed these yet
    await slow.stop()
    restarted = bus.subscribe(group="slow", topics=["laborwatch.t.v1"])
    await restarted.start()
    assert [m.value for m in await restarted.fetch(timeout=1)] == [b"m3", b"m4"]


async def test_a_consumer_that_found_few_events_waits_a_moment_for_more(
    runtime: Runtime,
) -> None:
    batches: list[list[int]] = []

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        batches.append([e.data["n"] for e in events])

    def events(*ns: int) -> list[Outgoing]:
        made = [new_event(service="t", type_="t", data={"n": n}, key="k") for n in ns]
        return [Outgoing("laborwatch.linger.v1", "k", e.to_bytes()) for e in made]

    runner = ConsumerRunner(
        Consumer("test.linger", ("laborwatch.linger.v1",), apply),
        bus=runtime.bus,
        sessionmaker=runtime.sessionmaker,
        outbox=runtime.outbox("t"),
        linger_seconds=0.5,
    )
    await runtime.bus.publish(events(1))
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.2)  # the first event is fetched; the runner lingers
    await runtime.bus.publish(events(2, 3))
    for _ in range(100):
        if sum(map(len, batches)) == 3:
            break
        await asyncio.sleep(0.05)
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert batches == [[1, 2, 3]]  # one transaction for the first event and the next moment's

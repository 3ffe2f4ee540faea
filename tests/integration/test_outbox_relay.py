"""The outbox relay on PostgreSQL, without the broker: which rows a relay takes, in which
order, and what its transaction holds while it waits for the broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus import Outgoing
from libs.common.db import take_turn
from libs.common.events import new_event
from libs.common.outbox import Outbox
from libs.common.runtime import Runtime
from libs.common.tables import OutboxMessage

pytestmark = pytest.mark.postgres


@dataclass
class RecordingBus:
    """Stands in for the broker only: these tests are about which rows a relay takes."""

    published: list[bytes] = field(default_factory=list)
    fail: bool = False

    async def publish(
        self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
    ) -> None:
        await asyncio.sleep(0.01)  # let the other relay run while this batch is held
        if self.fail:
            raise ConnectionError("broker away")
        self.published += [m.value for m in messages]


async def fill_outbox(runtime: Runtime, outbox: Outbox, n: int) -> list[bytes]:
    payloads = []
    async with runtime.sessionmaker.begin() as session:
        for i in range(n):
            event = new_event(service="intake", type_="t", data={"i": i}, key=f"k{i % 7}")
            outbox.add(session, topic="laborwatch.report.received.v1", event_=event)
            payloads.append(event.to_bytes())
    return payloads


async def test_two_relays_of_a_producer_take_turns_and_keep_the_order(runtime: Runtime) -> None:
    bus = RecordingBus()
    relays = [
        Outbox(
            producer="intake",
            sessionmaker=runtime.sessionmaker,
            bus=bus,  # type: ignore[arg-type]
            batch_size=25,
        )
        for _ in range(2)
    ]
    payloads = await fill_outbox(runtime, relays[0], 300)
    turns = [0, 0]

    async def drain(n: int) -> None:
        while await relays[n].pending():
            turns[n] += bool(await relays[n].relay_once())

    await asyncio.gather(drain(0), drain(1))
    assert bus.published == payloads  # every row once, none twice, oldest first
    assert all(turns)  # both relayed, in turn
    assert await relays[0].pending() == 0


async def test_a_relay_whose_turn_another_holds_leaves_the_rows(runtime: Runtime) -> None:
    bus = RecordingBus()
    intake = Outbox(producer="intake", sessionmaker=runtime.sessionmaker, bus=bus)  # type: ignore[arg-type]
    grading = Outbox(producer="grading", sessionmaker=runtime.sessionmaker, bus=bus)  # type: ignore[arg-type]
    await fill_outbox(runtime, intake, 3)
    await fill_outbox(runtime, grading, 2)
    async with runtime.sessionmaker.begin() as other_replica:
        assert await take_turn(other_replica, "outbox:intake")
        assert await intake.relay_once() == 0
        assert await grading.relay_once() == 2  # another producer's turn is its own
    assert await intake.pending() == 3
    assert await intake.relay_once() == 3


async def test_a_relay_waiting_for_the_broker_holds_no_transaction_id(runtime: Runtime) -> None:
    """A relay that waited for the broker as a writer (its rows locked or deleted) kept the rows
    deleted meanwhile from being cleaned up, and every relay's scan walked them."""
    seen: list[object] = []

    class Watching(RecordingBus):
        async def publish(
            self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
        ) -> None:
            assert session is not None
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with runtime.sessionmaker() as watcher:
                row = (await watcher.execute(_XID, {"pid": pid})).one()
            seen.append(row.backend_xid)
            await super().publish(messages, session=session)

    relay = Outbox(producer="intake", sessionmaker=runtime.sessionmaker, bus=Watching())  # type: ignore[arg-type]
    await fill_outbox(runtime, relay, 5)
    assert await relay.relay_once() == 5
    assert seen == [None]
    assert await relay.pending() == 0


_XID = text("SELECT backend_xid FROM pg_stat_activity WHERE pid = :pid")


async def test_a_failed_publish_keeps_the_rows_for_the_next_try(runtime: Runtime) -> None:
    bus = RecordingBus(fail=True)
    relay = Outbox(producer="intake", sessionmaker=runtime.sessionmaker, bus=bus)  # type: ignore[arg-type]
    payloads = await fill_outbox(runtime, relay, 10)
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert await relay.pending() == 10
    bus.fail = False
    assert await relay.relay_once() == 10
    assert bus.published == payloads  # oldest first
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_a_woken_relay_waits_a_moment_for_the_next_commits(runtime: Runtime) -> None:
    batches: list[int] = []

    @dataclass
    class CountingBus:
        async def publish(
            self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
        ) -> None:
            batches.append(len(messages))

    outbox = Outbox(
        producer="linger",
        sessionmaker=runtime.sessionmaker,
        bus=CountingBus(),  # type: ignore[arg-type]
        poll_seconds=5,
        linger_seconds=0.5,
    )
    relay = asyncio.create_task(outbox.run())
    await asyncio.sleep(0.1)  # the relay found nothing and waits to be woken
    await fill_outbox(runtime, outbox, 2)  # wakes it
    await asyncio.sleep(0.1)
    await fill_outbox(runtime, outbox, 3)  # commits while it lingers
    for _ in range(100):
        if sum(batches) == 5:
            break
        await asyncio.sleep(0.05)
    relay.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await relay
    assert batches == [5]


async def test_a_relay_cancelled_as_a_commit_wakes_it_stops(runtime: Runtime) -> None:
    """A relay that ran on after its cancellation held the service's stop for its whole bound."""
    outbox = Outbox(producer="intake", sessionmaker=runtime.sessionmaker, bus=RecordingBus())  # type: ignore[arg-type]
    relay = asyncio.create_task(outbox.run())
    await asyncio.sleep(0.1)  # the relay found nothing and waits to be woken
    outbox._wake.set()  # what a commit does
    relay.cancel()
    done, _ = await asyncio.wait([relay], timeout=2)
    assert relay in done and relay.cancelled()

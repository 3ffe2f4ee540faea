"""The event bus: one interface, two backends (Kafka through aiokafka in `libs.common.kafka`,
or in-process, here).

The in-process bus keeps its log in the database (`bus_messages`, `bus_offsets`), so the
embedded default loses no event on a crash or restart, just as Kafka would not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete, func, insert, or_, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.clock import woken
from libs.common.events import CONTENT_TYPE, TOPICS, dead_letter_topic
from libs.common.tables import BusMessage, BusOffset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """A message to publish."""

    topic: str
    key: str | None
    value: bytes


@dataclass(frozen=True)
class Delivered:
    """A message as a subscription hands it over; `partition` and `offset` place it for commit."""

    topic: str
    key: str | None
    value: bytes
    partition: int
    offset: int


class Subscription(Protocol):
    """A consumer group's reading of some topics, committed after the effects are stored."""

    async def start(self) -> None: ...
    async def fetch(self, timeout: float) -> list[Delivered]: ...
    async def commit(self, messages: Sequence[Delivered]) -> None: ...
    async def stop(self) -> None: ...


class EventBus(Protocol):
    """Publish and subscribe, whatever carries the events."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(
        self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
    ) -> None: ...
    async def ping(self) -> None: ...
    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription: ...


# The in-process bus's log, as a Table: a Core executemany is compiled once (see
# libs.common.db.insert_at_commit).
_LOG = cast(Table, BusMessage.__table__)

# CloudEvents Kafka binding, structured mode: the whole event is the value.
STRUCTURED = [("content-type", CONTENT_TYPE.encode())]


def all_topics() -> list[str]:
    """List the contract's topics and their dead-letter topics."""
    return [*TOPICS, *(dead_letter_topic(t) for t in TOPICS)]


# ---------------------------------------------------------------------------------- in-process


@dataclass
class InProcessBus:
    """The embedded default: a durable log in the database, with in-process wake-ups."""

    sessionmaker: async_sessionmaker[AsyncSession]
    retention: dt.timedelta = dt.timedelta(days=7)
    _waiters: dict[str, set[asyncio.Event]] = field(default_factory=lambda: defaultdict(set))

    async def start(self) -> None:
        """Nothing to start: the log is a table."""

    async def stop(self) -> None:
        """Wake every subscription so that it can notice it is stopping."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    async def publish(
        self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
    ) -> None:
        """Append the messages to the log and wake the topics' subscriptions.

        Given the relay's session, the append joins its transaction: SQLite has one writer, and
        the move from outbox to log then happens exactly once.
        """
        if not messages:
            return
        rows = [{"topic": m.topic, "key": m.key, "payload": m.value} for m in messages]
        topics = {m.topic for m in messages}
        if session is None:
            async with self.sessionmaker.begin() as own:
                await own.execute(insert(_LOG), rows)
            self._wake(topics)
        else:
            await session.execute(insert(_LOG), rows)
            sa_event.listen(
                session.sync_session, "after_commit", lambda _s: self._wake(topics), once=True
            )

    def _wake(self, topics: set[str]) -> None:
        for topic in topics:
            for waiter in self._waiters[topic]:
                waiter.set()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """Read the topics from the group's stored positions on."""
        wake = asyncio.Event()
        for topic in topics:
            self._waiters[topic].add(wake)
        return _InProcessSubscription(self, group, tuple(topics), wake)

    def _unsubscribe(self, wake: asyncio.Event) -> None:
        for waiters in self._waiters.values():
            waiters.discard(wake)


@dataclass
class _InProcessSubscription:
    bus: InProcessBus
    group: str
    topics: tuple[str, ...]
    wake: asyncio.Event
    batch_size: int = 200
    _positions: dict[str, int] = field(default_factory=dict)

    async def start(self) -> None:
        async with self.bus.sessionmaker.begin() as session:
            rows = await session.execute(
                select(BusOffset.topic, BusOffset.position).where(
                    BusOffset.group_name == self.group, BusOffset.topic.in_(self.topics)
                )
            )
            stored = {row.topic: row.position for row in rows}
            for topic in self.topics:
                if topic not in stored:
                    session.add(BusOffset(group_name=self.group, topic=topic, position=0))
            self._positions = {t: stored.get(t, 0) for t in self.topics}

    async def fetch(self, timeout: float) -> list[Delivered]:
        self.wake.clear()  # before reading, so that a publish during the read is not missed
        messages = await self._read()
        if messages:
            return messages
        if not await woken(self.wake, timeout):
            return []
        return await self._read()

    async def _read(self) -> list[Delivered]:
        async with self.bus.sessionmaker() as session:
            conditions = [
                (BusMessage.topic == topic) & (BusMessage.id > position)
                for topic, position in self._positions.items()
            ]
            rows = await session.execute(
                select(BusMessage)
                .where(or_(*conditions))
                .order_by(BusMessage.id)
                .limit(self.batch_size)
            )
            delivered = [
                Delivered(topic=m.topic, key=m.key, value=m.payload, partition=0, offset=m.id)
                for m in rows.scalars()
            ]
        # Like a Kafka consumer's position: the next fetch goes on from here, whether or not
        # this one is committed (a subscription started anew begins at the committed one).
        for message in delivered:
            self._positions[message.topic] = max(self._positions[message.topic], message.offset)
        return delivered

    async def commit(self, messages: Sequence[Delivered]) -> None:
        latest: dict[str, int] = {}
        for m in messages:
            latest[m.topic] = max(latest.get(m.topic, 0), m.offset)
        if not latest:
            return
        async with self.bus.sessionmaker.begin() as session:
            for topic, position in latest.items():
                await session.execute(
                    update(BusOffset)
                    .where(BusOffset.group_name == self.group, BusOffset.topic == topic)
                    .values(position=position)
                )
            # Like a broker's retention: what is older than the retention period and read by
            # every group is dropped. The period also covers a group that joins later.
            cutoff = dt.datetime.now(dt.UTC) - self.bus.retention
            for topic in latest:
                read_by_all = (
                    select(func.min(BusOffset.position))
                    .where(BusOffset.topic == topic)
                    .scalar_subquery()
                )
                await session.execute(
                    delete(BusMessage).where(
                        BusMessage.topic == topic,
                        BusMessage.id <= read_by_all,
                        BusMessage.created_at < cutoff,
                    )
                )

    async def stop(self) -> None:
        self.bus._unsubscribe(self.wake)


def describe(bus: Any) -> str:
    """Name the backend for logs and the readiness probe."""
    return str(getattr(bus, "kind", "in-process"))

"""The event bus: one interface, two backends (Kafka through aiokafka, or in-process).

The in-process bus keeps its log in the database (`bus_messages`, `bus_offsets`), so the
embedded default loses no event on a crash or restart, just as Kafka would not.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from sqlalchemy import Table, delete, func, insert, or_, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
_STRUCTURED = [("content-type", CONTENT_TYPE.encode())]


def all_topics() -> list[str]:
    """List the contract's topics and their dead-letter topics."""
    return [*TOPICS, *(dead_letter_topic(t) for t in TOPICS)]


# --------------------------------------------------------------------------------------- Kafka


class KeyPartitioner:
    """Kafka's default partitioner (the Java client's murmur2 of the key), with each key's hash
    remembered: aiokafka computes murmur2 in pure Python, a real cost at thousands of events a
    second, and the keys (enterprises, incidents) come again and again."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self._max_keys:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]


@dataclass
class KafkaBus:
    """Kafka through aiokafka: `acks=all`, keyed messages, topics created if missing."""

    bootstrap_servers: str
    partitions: int = 3
    replication_factor: int = 1
    request_timeout_ms: int = 10_000
    # How long the broker may hold a fetch that found nothing new. Apache Kafka answers as soon
    # as data comes, but some Kafka-protocol brokers (Tansu among them) hold the fetch for the
    # whole time regardless, and each hop of an event would wait for it (500 ms, aiokafka's
    # default); a shorter wait costs only a few more idle fetches a second.
    fetch_max_wait_ms: int = 100
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _partitioner: KeyPartitioner = field(default_factory=KeyPartitioner, init=False)

    async def start(self) -> None:
        """Create the contract's topics if missing and start the producer."""
        await self._started()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                await self.ensure_topics(all_topics())
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    partitioner=self._partitioner,
                    request_timeout_ms=self.request_timeout_ms,
                    linger_ms=2,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def stop(self) -> None:
        """Flush and stop the producer."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, request_timeout_ms=self.request_timeout_ms
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                    await admin.create_topics(
                        [NewTopic(t, self.partitions, self.replication_factor) for t in missing]
                    )
                log.info("created topics", extra={"topics": missing})
        finally:
            await admin.close()

    async def publish(
        self, messages: Sequence[Outgoing], *, session: AsyncSession | None = None
    ) -> None:
        """Send every message and wait until the broker has acknowledged them all.

        The messages go in record batches of their partition, in order, built here: sent one
        by one, each would cost aiokafka more work in Python than the broker spends on it.
        """
        producer = await self._started()
        partitions: dict[str, list[int]] = {}
        batches: dict[tuple[str, int], Any] = {}
        sent: list[asyncio.Future[Any]] = []
        for m in messages:
            if m.topic not in partitions:
                partitions[m.topic] = sorted(await producer.partitions_for(m.topic))
            key = m.key.encode() if m.key is not None else None
            where = (m.topic, self._partitioner(key, partitions[m.topic], partitions[m.topic]))
            batch = batches.get(where)
            if batch is not None and _added(batch, key, m.value):
                continue
            if batch is not None:  # full: on its way, and a new one for what follows
                sent.append(await producer.send_batch(batch, where[0], partition=where[1]))
            batch = batches[where] = producer.create_batch()
            if not _added(batch, key, m.value):
                raise AssertionError("an empty record batch takes any one message")
        for (topic, partition), batch in batches.items():
            sent.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*sent)

    async def ping(self) -> None:
        """Raise unless the broker answers a metadata request."""
        producer = await self._started()
        ok = await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=3)
        if not ok.brokers():
            raise ConnectionError("no Kafka broker reachable")

    def subscribe(self, *, group: str, topics: Sequence[str]) -> Subscription:
        """Join a consumer group on the topics; offsets are committed only by `commit`."""
        return _KafkaSubscription(
            self.bootstrap_servers, group, tuple(topics), self.fetch_max_wait_ms
        )


def _added(batch: Any, key: bytes | None, value: bytes) -> bool:
    """Append a message to a record batch; say whether it fitted."""
    return batch.append(key=key, value=value, timestamp=None, headers=_STRUCTURED) is not None


@dataclass
class _KafkaSubscription:
    bootstrap_servers: str
    group: str
    topics: tuple[str, ...]
    fetch_max_wait_ms: int
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=200,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        await consumer.start()
        self._consumer = consumer

    async def fetch(self, timeout: float) -> list[Delivered]:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        return [
            Delivered(
                topic=r.topic,
                key=r.key.decode() if r.key is not None else None,
                value=r.value,
                partition=r.partition,
                offset=r.offset,
            )
            for records in batches.values()
            for r in records
        ]

    async def commit(self, messages: Sequence[Delivered]) -> None:
        assert self._consumer is not None
        if not messages:
            return
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
        await self._consumer.commit(offsets)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


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
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
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
    return "kafka" if isinstance(bus, KafkaBus) else "in-process"

"""The Kafka backend of the event bus, through aiokafka: CloudEvents in structured mode, keyed
by enterprise, produced with `acks=all`; topics made where missing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner, murmur2
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.bus import STRUCTURED, Delivered, Outgoing, Subscription, all_topics

log = logging.getLogger(__name__)


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

    kind: ClassVar[str] = "kafka"
    bootstrap_servers: str
    partitions: int = 3
    replication_factor: int = 1
    request_timeout_ms: int = 10_000
    # How long the broker may hold a fetch that found nothing new. Apache Kafka answers as soon
    # as data comes, but some Kafka-protocol brokers (Tansu among them) hold the fetch for the
    # whole time regardless, and each hop of an event would wait for it (500 ms, aiokafka's
    # default); a shorter wait costs only a few more idle fetches a second.
    fetch_max_wait_ms: int = 100
    # The most a record batch of one partition holds. aiokafka sends a partition's next batch
    # only once the one before has left, so a relay of a few hundred warnings (2 KB each) in
    # aiokafka's default 16 KB went out in some twenty sequential requests, and the relay fell
    # behind under load (docs/benchmarks.md, a fifth round). Kafka takes batches up to 1 MB
    # unless told otherwise (`message.max.bytes`).
    max_batch_bytes: int = 256 * 1024
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
                    max_batch_size=self.max_batch_bytes,
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
    return batch.append(key=key, value=value, timestamp=None, headers=STRUCTURED) is not None


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

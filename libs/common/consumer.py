"""The idempotent consumer: effects and the processed-event row in one transaction, then commit.

A fetched batch is applied in one transaction (one commit for up to a few hundred events); if
any event of it fails, the batch is rolled back and applied again event by event, so that a bad
event is retried and dead-lettered alone. A redelivered event changes nothing. A message that
keeps failing is retried with backoff a bounded number of times, then stored as a dead letter
and sent to `<topic>.dlq`, and the consumer goes on. A database or network outage is not the
message's fault: it is retried until the outage ends, without counting against the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from aiokafka.errors import KafkaError
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.bus import Delivered, EventBus, Subscription
from libs.common.db import is_database_outage
from libs.common.events import CloudEvent, dead_letter_topic
from libs.common.metrics import CONSUMED, DEAD_LETTERS
from libs.common.outbox import Outbox
from libs.common.tables import DeadLetter, ProcessedEvent

log = logging.getLogger(__name__)

# Apply events (new to the consumer, in order) within the transaction that records them.
Apply = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]
Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Consumer:
    """A named consumer group of a service: the topics it reads and how it applies them.

    `apply` gets the events of one transaction: a consumed batch, or a single event when a
    batch fell back to one by one. Most consumers handle them one by one: see `each`.
    """

    name: str
    topics: tuple[str, ...]
    apply: Apply
    # At most this many events a second, for a bulk source that must not crowd out the others:
    # a monthly upload's two thousand alerts are filed a tenth of a second's worth at a time,
    # and a live report filed meanwhile waits behind a few of them, not behind all.
    per_second: float | None = None


def each(handle: Handler, *, prepare: Apply | None = None) -> Apply:
    """Apply events one by one with `handle`.

    `prepare`, if given, first gets all the events: it can read in a few statements what
    handling them one by one would read event by event (keeping it in the session), so that
    a batch costs little more than an event.
    """

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        if prepare is not None:
            await prepare(session, events)
        for event in events:
            await handle(session, event)

    return apply


def is_outage(error: BaseException) -> bool:
    """Say whether an error means the database or network is away, not that the event is bad."""
    return is_database_outage(error) or isinstance(error, OSError | TimeoutError)


class ConsumerRunner:
    """Run one consumer against the bus until cancelled."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        bus: EventBus,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        outage_retry_seconds: float = 1.0,
        linger_seconds: float = 0.0,
        few: int = 50,  # a fetch of fewer events than this lingers for more
    ) -> None:
        self.consumer = consumer
        self._bus = bus
        self._sessionmaker = sessionmaker
        self._outbox = outbox
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._outage_retry = outage_retry_seconds
        self._linger = linger_seconds
        self._few = few
        dialect = sessionmaker.kw["bind"].dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        processed = cast(Table, ProcessedEvent.__table__)
        self._claim = (
            self._insert(processed).on_conflict_do_nothing().returning(processed.c.event_id)
        )
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the runner to finish the batch in hand, commit its offsets and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Fetch, apply, commit offsets; until stopped or cancelled. Never dies of an error:
        an outage is waited out, anything else is logged and the subscription started anew
        (uncommitted events come again, and are recognised)."""
        while not self._stopping.is_set():
            subscription = self._bus.subscribe(
                group=self.consumer.name, topics=self.consumer.topics
            )
            try:
                await _retry_outage(subscription.start, what=f"start {self.consumer.name}")
                await self._consume(subscription)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "consumer failed; starting it again", extra={"consumer": self.consumer.name}
                )
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await subscription.stop()

    async def _consume(self, subscription: Subscription) -> None:
        while not self._stopping.is_set():
            messages = await _retry_outage(
                functools.partial(subscription.fetch, 0.5), what="fetch events"
            )
            if 0 < len(messages) < self._few and self._linger:
                # A few events: those of the next moment join them, in one transaction.
                await asyncio.sleep(self._linger)
                messages += await _retry_outage(
                    functools.partial(subscription.fetch, 0), what="fetch events"
                )
            for part in self._paced(messages):
                started = asyncio.get_running_loop().time()
                await self.process_batch(part)
                await _retry_outage(
                    functools.partial(subscription.commit, part), what="commit offsets"
                )
                if self.consumer.per_second and part:
                    took = asyncio.get_running_loop().time() - started
                    await asyncio.sleep(max(0.0, len(part) / self.consumer.per_second - took))

    def _paced(self, messages: Sequence[Delivered]) -> list[Sequence[Delivered]]:
        """A fetched batch in the parts its consumer's pace allows (a tenth of a second's worth
        each), in order: a part's offsets are committed before the next is applied."""
        if not self.consumer.per_second or not messages:
            return [messages]
        size = max(1, int(self.consumer.per_second / 10))
        return [messages[i : i + size] for i in range(0, len(messages), size)]

    async def process_batch(self, messages: Sequence[Delivered]) -> None:
        """Apply a fetched batch exactly once: together if every event applies, else one by one."""
        events = _parsed(messages)
        if len(messages) < 2 or events is None:
            for message in messages:
                await self.process(message)
            return
        while True:
            try:
                applied = await self._apply_all(events)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_outage(error):
                    log.warning(
                        "database unavailable; retrying batch",
                        exc_info=True,
                        extra={"consumer": self.consumer.name},
                    )
                    await asyncio.sleep(self._outage_retry)
                    continue
                log.info(
                    "batch failed; applying its events one by one",
                    exc_info=True,
                    extra={"consumer": self.consumer.name, "events": len(events)},
                )
                for message in messages:
                    await self.process(message)
                return
        CONSUMED.labels(self.consumer.name, "applied").inc(applied)
        CONSUMED.labels(self.consumer.name, "duplicate").inc(len(events) - applied)

    async def _apply_all(self, events: Sequence[CloudEvent]) -> int:
        async with self._sessionmaker.begin() as session:
            ids = list(dict.fromkeys(e.id for e in events))
            # An executemany (batched into multi-row INSERTs by SQLAlchemy), not one statement
            # with a VALUES row per event: that would be compiled anew for every batch.
            claimed = set(
                (
                    await session.execute(
                        self._claim,
                        [{"consumer": self.consumer.name, "event_id": i} for i in ids],
                    )
                ).scalars()
            )
            todo = []
            for event in events:
                if event.id in claimed:
                    claimed.discard(event.id)  # the same event twice in a batch: once
                    todo.append(event)
            if todo:
                await self.consumer.apply(session, todo)
            return len(todo)

    async def process(self, message: Delivered) -> None:
        """Apply one message exactly once, or dead-letter it."""
        try:
            event = CloudEvent.from_bytes(message.value)
        except ValueError as error:
            await self._dead_letter(message, None, error, attempts=1)
            return
        attempts = 0
        while True:
            try:
                applied = await self._apply(event)
                CONSUMED.labels(self.consumer.name, "applied" if applied else "duplicate").inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_outage(error):
                    log.warning(
                        "database unavailable; retrying event",
                        exc_info=True,
                        extra={"consumer": self.consumer.name, "event_id": event.id},
                    )
                    await asyncio.sleep(self._outage_retry)
                    continue
                attempts += 1
                if attempts >= self._max_attempts:
                    await self._dead_letter(message, event, error, attempts=attempts)
                    return
                log.warning(
                    "event failed; retrying",
                    exc_info=True,
                    extra={
                        "consumer": self.consumer.name,
                        "event_id": event.id,
                        "attempt": attempts,
                    },
                )
                await asyncio.sleep(self._backoff * 2 ** (attempts - 1))

    async def _apply(self, event: CloudEvent) -> bool:
        return await self._apply_all([event]) == 1  # 0: already applied, a redelivery

    async def _dead_letter(
        self, message: Delivered, event: CloudEvent | None, error: BaseException, *, attempts: int
    ) -> None:
        log.error(
            "event dead-lettered",
            extra={
                "consumer": self.consumer.name,
                "topic": message.topic,
                "event_id": event.id if event else None,
                "error": repr(error),
            },
        )
        DEAD_LETTERS.labels(self.consumer.name, message.topic).inc()

        async def store() -> None:
            async with self._sessionmaker.begin() as session:
                if event is not None:
                    await session.execute(
                        self._insert(ProcessedEvent)
                        .values(consumer=self.consumer.name, event_id=event.id)
                        .on_conflict_do_nothing()
                    )
                session.add(
                    DeadLetter(
                        consumer=self.consumer.name,
                        topic=message.topic,
                        event_id=event.id if event else None,
                        key=message.key,
                        payload=message.value,
                        error=repr(error)[:4000],
                        attempts=attempts,
                    )
                )
                self._outbox.add_raw(
                    session,
                    topic=dead_letter_topic(message.topic),
                    key=message.key,
                    payload=message.value,
                )

        await _retry_outage(store, what="store dead letter")


def _parsed(messages: Sequence[Delivered]) -> list[CloudEvent] | None:
    """The messages' events, or None if one of them is not an event (the slow path says which)."""
    try:
        return [CloudEvent.from_bytes(m.value) for m in messages]
    except ValueError:
        return None


async def _retry_outage(action: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run the action, retrying for as long as the failure is an outage."""
    delay = 0.2
    while True:
        try:
            return await action()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if not is_outage(error) and not _is_bus_error(error):
                raise
            log.warning("%s failed; retrying", what, exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _is_bus_error(error: BaseException) -> bool:
    return isinstance(error, KafkaError)

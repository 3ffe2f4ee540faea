"""The transactional outbox: an event is stored with its state change, then relayed to the bus."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from sqlalchemy import Table, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from libs.common.bus import EventBus, Outgoing
from libs.common.clock import woken
from libs.common.db import insert_at_commit, one_of, take_turn
from libs.common.events import CloudEvent
from libs.common.tables import OutboxMessage, utcnow

log = logging.getLogger(__name__)


_OUTBOX = cast(Table, OutboxMessage.__table__)

# session.info key: the relays to wake once the transaction committed.
_WAKE = "outbox.wake"


def _wake_relays(session: Session) -> None:
    wake: set[asyncio.Event] = session.info[_WAKE]
    for relay in wake:
        relay.set()
    wake.clear()


def _forget_relays(session: Session) -> None:
    session.info[_WAKE].clear()


class Outbox:
    """Write events of one producing service into the outbox, and relay them to the bus."""

    def __init__(
        self,
        *,
        producer: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        poll_seconds: float = 0.5,
        linger_seconds: float = 0.0,
        batch_size: int = 500,
    ) -> None:
        self.producer = producer
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._linger_seconds = linger_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def add(self, session: AsyncSession, *, topic: str, event_: CloudEvent) -> None:
        """Add the event to the session's transaction; the relay wakes once it commits."""
        self.add_raw(session, topic=topic, key=event_.partitionkey, payload=event_.to_bytes())

    def add_raw(
        self, session: AsyncSession, *, topic: str, key: str | None, payload: bytes
    ) -> None:
        """Add an already serialised message (a dead letter keeps its original bytes)."""
        insert_at_commit(
            session,
            OutboxMessage,
            {
                "producer": self.producer,
                "topic": topic,
                "key": key,
                "payload": payload,
                "created_at": utcnow(),
            },
        )
        sync = session.sync_session
        if _WAKE not in sync.info:
            sync.info[_WAKE] = set()
            event.listen(sync, "after_commit", _wake_relays)
            event.listen(sync, "after_rollback", _forget_relays)
        sync.info[_WAKE].add(self._wake)

    async def relay_once(self) -> int:
        """Publish one batch of this producer's pending events, oldest first; return how many."""
        async with self._sessionmaker.begin() as session:
            # One relay of a producer at a time, whichever replica: the events go out in order.
            # The turn is an advisory lock, not a row lock: a row lock would make this a writing
            # transaction while it waits for the broker, and every relay's scan of the outbox
            # would walk the deleted rows that an open writer keeps from being cleaned up.
            if not await take_turn(session, f"outbox:{self.producer}"):
                return 0
            rows = (
                await session.execute(
                    select(_OUTBOX.c.id, _OUTBOX.c.topic, _OUTBOX.c.key, _OUTBOX.c.payload)
                    .where(_OUTBOX.c.producer == self.producer)
                    .order_by(_OUTBOX.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            await self._bus.publish(
                [Outgoing(r.topic, r.key, r.payload) for r in rows], session=session
            )
            # Published: deleted when the transaction commits. Should it not, they go out again,
            # and consumers recognise them by their event id.
            ids = [r.id for r in rows]
            await session.execute(delete(_OUTBOX).where(one_of(_OUTBOX.c.id, ids, session)))
            return len(rows)

    async def run(self) -> None:
        """Relay until cancelled; a bus or database outage only delays events, never drops them."""
        failures = 0
        while True:
            self._wake.clear()
            try:
                relayed = await self.relay_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(0.2 * 2**failures, 5.0)
                log.warning(
                    "outbox relay failed; retrying",
                    exc_info=True,
                    extra={"producer": self.producer, "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                continue
            if relayed < self._batch_size:
                await woken(self._wake, self._poll_seconds)
                if self._wake.is_set() and self._linger_seconds:
                    # A commit woke the relay: let the commits of the next moment join it.
                    await asyncio.sleep(self._linger_seconds)

    async def pending(self) -> int:
        """Count this producer's events not yet relayed."""
        async with self._sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.producer == self.producer)
            )
            return int(count or 0)

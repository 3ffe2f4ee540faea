"""The delivery loop of sharing, apart from the bodies' deliveries.

Each turn claims, per subscription, what is due (FOR UPDATE SKIP LOCKED on PostgreSQL) up to
the calls a subscription may have in flight, leases it, and sends each in a task of its own:
a receiver that times out holds up only its own subscription's next deliveries. No session is
held while a call is out. A delivery that fails is tried again with backoff until its retry
window ends; then it has failed for good, and its subscription is paused (shown as such) until
an admin resumes it or redelivers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import claim
from libs.common.workers import Worker, polling
from services.notifier.sharing.sender import SendError
from services.notifier.sharing.service import Sharing
from services.notifier.sharing.tables import SharedDelivery, SharedEvent, Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


class Dispatcher:
    """Claims due deliveries and sends them, a few in flight per subscription."""

    def __init__(self, sharing: Sharing) -> None:
        self.sharing = sharing
        self.busy: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight: set[int] = set()

    async def turn(self) -> int:
        """Claim and start what is due; return how many were started."""
        claimed = await self.claim()
        for delivery_id, subscription_id in claimed:
            self.busy[subscription_id] += 1
            self.in_flight.add(delivery_id)
            task = asyncio.create_task(self._run(delivery_id, subscription_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return len(claimed)

    async def claim(self) -> list[tuple[int, str]]:
        """Lease what is due, per active subscription, up to its free places."""
        sharing, now = self.sharing, self.sharing.clock.now()
        due = (SharedDelivery.status == "pending", SharedDelivery.next_attempt_at <= now)
        active = select(Subscription.id).where(Subscription.status == "active")
        claimed: list[tuple[int, str]] = []
        async with sharing.sessionmaker.begin() as session:
            subs = await session.scalars(
                select(SharedDelivery.subscription_id)
                .where(*due, SharedDelivery.subscription_id.in_(active))
                .distinct()
            )
            for sub_id in list(subs):
                room = sharing.per_subscription - self.busy[sub_id]
                if room <= 0:
                    continue
                query = (
                    select(SharedDelivery)
                    .where(*due, SharedDelivery.subscription_id == sub_id)
                    .order_by(SharedDelivery.next_attempt_at, SharedDelivery.id)
                    .limit(room)
                )
                for d in (await session.execute(claim(query, session))).scalars():
                    d.next_attempt_at = now + sharing.retries.lease
                    d.attempts += 1
                    claimed.append((d.id, sub_id))
        return claimed

    async def _run(self, delivery_id: int, subscription_id: str) -> None:
        cancelled = False
        try:
            await deliver(self.sharing, delivery_id)
        except asyncio.CancelledError:
            cancelled = True  # stop() hands it back
            raise
        except Exception:  # the lease runs out and the delivery is tried again
            log.warning("shared delivery crashed", exc_info=True, extra={"id": delivery_id})
        finally:
            if not cancelled:
                self.in_flight.discard(delivery_id)
            self.busy[subscription_id] -= 1
            if self.busy[subscription_id] <= 0:
                del self.busy[subscription_id]

    async def stop(self) -> None:
        """Cancel what is in flight, and hand it back to be sent at once by whoever runs next
        (after a crash instead, its lease runs out)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if not self.in_flight:
            return
        try:
            async with self.sharing.sessionmaker.begin() as session:
                await session.execute(
                    update(SharedDelivery)
                    .where(
                        SharedDelivery.id.in_(self.in_flight), SharedDelivery.status == "pending"
                    )
                    .values(next_attempt_at=self.sharing.clock.now())
                )
        except Exception:
            log.warning("could not hand back the shared deliveries in flight", exc_info=True)


async def deliver(sharing: Sharing, delivery_id: int) -> None:
    """Send one claimed delivery and record how it went."""
    async with sharing.sessionmaker() as session:
        delivery = await session.get(SharedDelivery, delivery_id)
        if delivery is None:
            return  # its subscription was deleted
        sub = await session.get(Subscription, delivery.subscription_id)
        event = await session.get(SharedEvent, delivery.event_id)
    if sub is None or event is None:
        return
    secrets = sharing.signing_secrets(sub, now=sharing.clock.now())
    try:
        code = await sharing.sender.send(
            sub.url, msg_id=delivery.event_id, body=event.body, secrets=secrets
        )
        outcome = Outcome(ok=True, status_code=code)
    except SendError as exc:
        outcome = Outcome(ok=False, status_code=exc.status_code, error=str(exc))
    await record(sharing, delivery_id, outcome)


async def record(sharing: Sharing, delivery_id: int, outcome: Outcome) -> None:
    """Record an attempt: delivered, or tried again later, or failed for good (and the
    subscription paused)."""
    now = sharing.clock.now()
    async with sharing.sessionmaker.begin() as session:
        delivery = await session.get(SharedDelivery, delivery_id)
        if delivery is None:
            return
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.ok:
            delivery.status, delivery.delivered_at = "delivered", now
            await session.execute(
                update(Subscription)
                .where(Subscription.id == delivery.subscription_id)
                .values(consecutive_failures=0, last_delivered_at=now)
            )
            return
        await session.execute(
            update(Subscription)
            .where(Subscription.id == delivery.subscription_id)
            .values(consecutive_failures=Subscription.consecutive_failures + 1)
        )
        retry_at = sharing.retries.after(delivery.attempts, now=now, give_up_at=delivery.give_up_at)
        if retry_at is not None:
            delivery.next_attempt_at = retry_at
            return
        delivery.status = "failed"
        await pause(session, delivery.subscription_id, now=now, why=outcome.error)


async def pause(
    session: AsyncSession, subscription_id: str, *, now: dt.datetime, why: str | None
) -> None:
    """Pause a subscription whose delivery failed for good."""
    await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.status == "active")
        .values(
            status="paused",
            paused_at=now,
            paused_reason=f"a delivery failed for its whole retry window: {why}",
        )
    )
    log.warning("subscription paused", extra={"subscription_id": subscription_id, "error": why})


def sharing_deliveries(sharing: Sharing) -> Worker:
    """The loop that sends shared events; its in-flight calls end with it."""
    dispatcher = Dispatcher(sharing)
    loop = polling("sharing_deliveries", dispatcher.turn, poll_seconds=sharing.poll_seconds)

    async def run() -> None:
        try:
            await loop()
        finally:
            await dispatcher.stop()

    run.__name__ = "sharing_deliveries"
    return run

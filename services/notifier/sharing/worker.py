"""The delivery loop of sharing, apart from the bodies' deliveries.

Each turn records how the calls since the last turn went, then claims, per subscription,
what is due (FOR UPDATE SKIP LOCKED on PostgreSQL) up to the calls a subscription may have in
flight, leases it, and sends each in a task of its own: a receiver that times out holds up only
its own subscription's next deliveries. A turn is two transactions whatever it sends, and no
session is held while a call is out, so partners cost the bodies' warnings little database
time (SQLite has one connection for all). A delivery that fails is tried again with backoff
until its retry window ends; then it has failed for good, and its subscription is paused
(shown as such) until an admin resumes it or redelivers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.clock import woken
from libs.common.db import claim
from libs.common.workers import Claim, Worker
from services.notifier.sharing.sender import SendError
from services.notifier.sharing.service import Sharing
from services.notifier.sharing.tables import SharedDelivery, SharedEvent, Subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with all its call needs."""

    delivery_id: int
    subscription_id: str
    event_id: str
    attempts: int
    give_up_at: dt.datetime
    # The lease's end, as the claim wrote it: an outcome is recorded only on the attempt it
    # belongs to, so a manual redelivery made while the call was out is not overwritten.
    leased_until: dt.datetime
    url: str
    secrets: list[str]
    body: str


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
        self.done: list[tuple[Job, Outcome]] = []
        self.claiming: Claim[list[Job]] = Claim()
        self.wake = asyncio.Event()

    async def turn(self) -> int:
        """Record what ended, claim and start what is due; return how much was done."""
        recorded = await self.flush()
        jobs = await self.claiming.run(self.claim())
        for job in jobs:
            self.busy[job.subscription_id] += 1
            self.in_flight.add(job.delivery_id)
            task = asyncio.create_task(self._run(job))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return recorded + len(jobs)

    async def claim(self) -> list[Job]:
        """Lease what is due, per active subscription, up to its free places."""
        sharing, now = self.sharing, self.sharing.clock.now()
        async with sharing.sessionmaker.begin() as session:
            subs = {
                s.id: s
                for s in await session.scalars(
                    select(Subscription).where(Subscription.status == "active")
                )
            }
            rooms = {sub_id: sharing.per_subscription - self.busy[sub_id] for sub_id in subs}
            claimed = await _lease(
                session,
                {sub_id: room for sub_id, room in rooms.items() if room > 0},
                now=now,
                until=now + sharing.retries.lease,
            )
            if not claimed:
                return []
            found = await session.execute(
                select(SharedEvent.event_id, SharedEvent.body).where(
                    SharedEvent.event_id.in_({d.event_id for d in claimed})
                )
            )
            bodies: dict[str, str] = {event_id: body for event_id, body in found}
        return [
            Job(
                delivery_id=d.id,
                subscription_id=d.subscription_id,
                event_id=d.event_id,
                attempts=d.attempts,
                give_up_at=d.give_up_at,
                leased_until=d.next_attempt_at,
                url=subs[d.subscription_id].url,
                secrets=sharing.signing_secrets(subs[d.subscription_id], now=now),
                body=bodies[d.event_id],
            )
            for d in claimed
        ]

    async def _run(self, job: Job) -> None:
        try:
            code = await self.sharing.sender.send(
                job.url, msg_id=job.event_id, body=job.body, secrets=job.secrets
            )
            outcome = Outcome(ok=True, status_code=code)
        except SendError as exc:
            outcome = Outcome(ok=False, status_code=exc.status_code, error=str(exc))
        except Exception as exc:  # a bug of ours: retried like a failure
            log.warning("shared delivery crashed", exc_info=True, extra={"id": job.delivery_id})
            outcome = Outcome(ok=False, error=f"not sent: {type(exc).__name__}")
        # Cancelled (at shutdown): no outcome; stop() hands the delivery back.
        self.done.append((job, outcome))
        self.busy[job.subscription_id] -= 1
        if self.busy[job.subscription_id] <= 0:
            del self.busy[job.subscription_id]
        self.wake.set()

    async def flush(self) -> int:
        """Record, in one transaction, how the calls that ended went."""
        done, self.done = self.done, []
        if not done:
            return 0
        now = self.sharing.clock.now()
        delivered = [(job, o) for job, o in done if o.ok]
        async with self.sharing.sessionmaker.begin() as session:
            if delivered:
                await record_delivered(session, delivered, now=now)
            for job, outcome in done:
                if not outcome.ok:
                    await record_failed(self.sharing, session, job, outcome, now=now)
        for job, _ in done:
            self.in_flight.discard(job.delivery_id)
        return len(done)

    async def stop(self) -> None:
        """Cancel what is in flight, record what ended, and hand the rest back to be sent at
        once by whoever runs next (after a crash instead, its lease runs out)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.in_flight |= {job.delivery_id for job in await self.claiming.stop() or []}
        try:
            await self.flush()
            if not self.in_flight:
                return
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


async def _lease(
    session: AsyncSession, rooms: dict[str, int], *, now: dt.datetime, until: dt.datetime
) -> list[SharedDelivery]:
    """Claim, in one statement, each subscription's next due deliveries, as many as it has
    room for (`rooms`), until `until`."""
    if not rooms:
        return []
    due = (
        SharedDelivery.subscription_id.in_(list(rooms)),
        SharedDelivery.status == "pending",
        SharedDelivery.next_attempt_at <= now,
    )
    order = (SharedDelivery.next_attempt_at, SharedDelivery.id)
    ranked = (
        select(
            SharedDelivery.id,
            SharedDelivery.subscription_id,
            func.row_number()
            .over(partition_by=SharedDelivery.subscription_id, order_by=order)
            .label("rank"),
        )
        .where(*due)
        .subquery()
    )
    wanted = select(ranked.c.id).where(
        ranked.c.rank <= case(rooms, value=ranked.c.subscription_id, else_=0)
    )
    # Locked on the table itself (a window cannot be): a row another replica holds is skipped.
    query = select(SharedDelivery).where(SharedDelivery.id.in_(wanted), *due[1:]).order_by(*order)
    found = list((await session.execute(claim(query, session))).scalars())
    for d in found:
        d.next_attempt_at = until
        d.attempts += 1
    return found


async def record_delivered(
    session: AsyncSession, done: list[tuple[Job, Outcome]], *, now: dt.datetime
) -> None:
    """Record deliveries that succeeded: a statement per status code and one for their
    subscriptions, however many there were."""
    by_code: dict[tuple[int | None, dt.datetime], list[int]] = {}
    for job, outcome in done:
        by_code.setdefault((outcome.status_code, job.leased_until), []).append(job.delivery_id)
    for (code, leased_until), ids in by_code.items():
        await session.execute(
            update(SharedDelivery)
            .where(
                SharedDelivery.id.in_(ids),
                SharedDelivery.status == "pending",
                SharedDelivery.next_attempt_at == leased_until,
            )
            .values(status="delivered", delivered_at=now, last_status_code=code, last_error=None)
        )
    await session.execute(
        update(Subscription)
        .where(Subscription.id.in_({job.subscription_id for job, _ in done}))
        .values(consecutive_failures=0, last_delivered_at=now)
    )


async def record_failed(
    sharing: Sharing, session: AsyncSession, job: Job, outcome: Outcome, *, now: dt.datetime
) -> None:
    """Record a failed attempt: tried again later, or failed for good (and the subscription
    paused)."""
    of_delivery = update(SharedDelivery).where(
        SharedDelivery.id == job.delivery_id,
        SharedDelivery.status == "pending",
        SharedDelivery.next_attempt_at == job.leased_until,
    )
    of_subscription = update(Subscription).where(Subscription.id == job.subscription_id)
    last = {"last_status_code": outcome.status_code, "last_error": outcome.error}
    failures = Subscription.consecutive_failures + 1
    await session.execute(of_subscription.values(consecutive_failures=failures))
    retry_at = sharing.retries.after(job.attempts, now=now, give_up_at=job.give_up_at)
    if retry_at is not None:
        await session.execute(of_delivery.values(next_attempt_at=retry_at, **last))
        return
    await session.execute(of_delivery.values(status="failed", **last))
    await session.execute(
        of_subscription.where(Subscription.status == "active").values(
            status="paused",
            paused_at=now,
            paused_reason=f"a delivery failed for its whole retry window: {outcome.error}",
        )
    )
    log.warning(
        "subscription paused",
        extra={"subscription_id": job.subscription_id, "error": outcome.error},
    )


def sharing_deliveries(sharing: Sharing, *, batch_seconds: float = 0.05) -> Worker:
    """The loop that sends shared events: a turn when a call ends (at most every
    `batch_seconds`, so that the calls of a moment are recorded together) or after the poll;
    its in-flight calls end with it."""
    dispatcher = Dispatcher(sharing)

    async def run() -> None:
        try:
            while True:
                dispatcher.wake.clear()
                try:
                    did = await dispatcher.turn()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("sharing deliveries failed; retrying", exc_info=True)
                    did = 0
                await asyncio.sleep(batch_seconds)
                if not did and not dispatcher.wake.is_set():
                    await woken(dispatcher.wake, sharing.poll_seconds)
        finally:
            await dispatcher.stop()

    run.__name__ = "sharing_deliveries"
    return run

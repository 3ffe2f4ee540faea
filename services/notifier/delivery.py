"""The delivery queue's handlers: send what is due over each channel, retry with backoff.

A message is built from the notification as it is when it goes out, never from a copy taken
when it was queued: a retry after an acknowledgement sends no stale "please acknowledge".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import select, update

from libs.common.db import claim
from services.notifier.channels import DeliveryError, Target
from services.notifier.domain import ClosedReason, Kind, Notification, Purpose, Status
from services.notifier.metrics import DELIVERY_FAILURES
from services.notifier.service import Notifier
from services.notifier.tables import Channel, Delivery

log = logging.getLogger(__name__)

SECRET_CONTEXT = "notifier_channels.secret"  # noqa: S105 - an AEAD context, not a secret


async def claim_due(notifier: Notifier, *, limit: int) -> list[Delivery]:
    """Lease up to `limit` deliveries whose time has come (no one else takes them while they
    are sent) and count the attempt."""
    now = notifier.clock.now()
    lease = now + dt.timedelta(seconds=60)
    async with notifier.sessionmaker.begin() as session:
        query = (
            select(Delivery)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
        claimed = list((await session.execute(claim(query, session))).scalars())
        for delivery in claimed:
            delivery.next_attempt_at = lease
            delivery.attempts += 1
    return claimed


async def attempt(notifier: Notifier, delivery: Delivery) -> None:
    """Send one claimed delivery; whatever goes wrong, it stops no other delivery."""
    try:
        await deliver(notifier, delivery.id)
    except Exception as exc:
        log.exception("delivery failed unexpectedly", extra={"delivery_id": delivery.id})
        DELIVERY_FAILURES.labels(delivery.channel).inc()
        now = notifier.clock.now()
        await failed(notifier, delivery, f"unexpected error: {type(exc).__name__}", now)


async def deliver_due(notifier: Notifier, *, limit: int = 50) -> int:
    """Send the deliveries whose time has come, side by side, and wait for them all."""
    claimed = await claim_due(notifier, limit=limit)
    await asyncio.gather(*(attempt(notifier, d) for d in claimed))
    return len(claimed)


async def hand_back(notifier: Notifier, ids: set[int]) -> None:
    """Make deliveries whose sending was cut short (at shutdown) due again at once."""
    if not ids:
        return
    async with notifier.sessionmaker.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "pending")
            .values(next_attempt_at=notifier.clock.now())
        )


def stale(n: Notification, purpose: Purpose) -> bool:
    """Say whether a message has nothing left to say: a reminder of what is no longer
    pending, or anything of a notification closed because another replaced it."""
    if purpose is Purpose.REMINDER:
        return n.status is not Status.PENDING
    return n.status is Status.CLOSED and n.closed_reason is not ClosedReason.COPY


async def deliver(notifier: Notifier, delivery_id: int) -> None:
    """Send one delivery; on failure, schedule its retry or give it up."""
    async with notifier.sessionmaker() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        n = await notifier.store.get(session, delivery.notification_id)
        channel = await session.get(Channel, delivery.channel_id)
    assert n is not None
    now = notifier.clock.now()
    purpose = Purpose(delivery.purpose)
    if stale(n, purpose):
        await finish(notifier, delivery_id, "cancelled", None, now)
        return
    if channel is None or not channel.enabled:
        await finish(notifier, delivery_id, "cancelled", "channel removed", now)
        return
    secret = (
        notifier.cipher.decrypt(channel.secret_sealed, context=SECRET_CONTEXT)
        if channel.secret_sealed
        else None
    )
    # The link's expiry counts from when the delivery was queued, so every channel of one
    # notice carries the same link, however far apart their sends fall.
    link = (
        notifier.ack_url(n.id, issued_at=delivery.created_at)
        if n.kind is Kind.RESPONSIBLE and n.status is not Status.CLOSED
        else None
    )
    message = notifier.message(n, purpose=purpose, delivery_id=delivery_id, link=link)
    try:
        await notifier.senders[channel.type].send(Target(channel.target, secret), message)
    except (DeliveryError, KeyError) as exc:
        DELIVERY_FAILURES.labels(channel.type).inc()
        await failed(notifier, delivery, str(exc), now)
        return
    await finish(notifier, delivery_id, "sent", None, now)


async def failed(notifier: Notifier, delivery: Delivery, error: str, now: dt.datetime) -> None:
    """Retry a failed delivery later, or give it up after the last attempt."""
    if delivery.attempts >= notifier.max_attempts:
        await finish(notifier, delivery.id, "failed", error, now)
        log.warning(
            "delivery failed for good",
            extra={"delivery_id": delivery.id, "channel": delivery.channel, "error": error},
        )
        return
    retry_at = now + notifier.retry_delay(delivery.attempts)
    async with notifier.sessionmaker.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(next_attempt_at=retry_at, last_error=error)
        )


async def finish(
    notifier: Notifier, delivery_id: int, status: str, error: str | None, now: dt.datetime
) -> None:
    """Record how a delivery ended; a sent one is announced."""
    async with notifier.sessionmaker.begin() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery.status = status
        delivery.last_error = error
        if status != "sent":
            return
        delivery.sent_at = now
        n = await notifier.store.get(session, delivery.notification_id)
        assert n is not None
        notifier.announce(
            session, n, "delivered", channel=delivery.channel, purpose=delivery.purpose
        )

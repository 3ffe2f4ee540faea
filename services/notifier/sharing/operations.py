"""Sharing's operations behind the API: subscriptions, secrets, deliveries, redelivery."""

from __future__ import annotations

import base64
import uuid

from sqlalchemy import delete, select, update

from libs.common import targets
from libs.common.auth import Principal
from libs.common.problems import Problem
from libs.common.queries import one_of
from services.notifier.sharing.schemas import (
    DeliveryOut,
    SecretRotated,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from services.notifier.sharing.service import Sharing, new_secret
from services.notifier.sharing.tables import SharedDelivery, Subscription


async def check_target(url: str, *, allow_local: bool) -> None:
    """Refuse (422) a URL that is not http(s), or whose host is or resolves to a loopback,
    link-local or unspecified address (checked again at each delivery). A name that does not
    resolve here is let through: it is checked at each delivery."""
    problem = targets.target_problem(url, allow_local=allow_local)
    if problem is None and not allow_local:
        try:
            await targets.connect_address(*targets.host_and_port(url), allow_local=False)
        except targets.TargetRefused as exc:
            problem = str(exc) if "resolves to" in str(exc) else None
    if problem is not None:
        errors = [{"loc": ["body", "url"], "msg": problem}]
        raise Problem(422, f"url: the URL {problem}", errors=errors)


def _check_places(sharing: Sharing, body: SubscriptionIn) -> None:
    jurisdiction = sharing.registry.get(body.jurisdiction)
    if jurisdiction is None:
        one_of("jurisdiction", body.jurisdiction, sharing.registry.ids())
        return
    regions = [r.id for r in jurisdiction.regions]
    for region in body.regions or []:
        one_of("region", region, regions)


async def create(
    sharing: Sharing, body: SubscriptionIn, *, principal: Principal, request_key: str | None
) -> SubscriptionCreated:
    """Make a subscription; its secret is shown in this answer alone."""
    _check_places(sharing, body)
    await check_target(body.url, allow_local=sharing.allow_local)
    secret = new_secret()
    sub = Subscription(
        id=str(uuid.uuid4()),
        name=body.name,
        department=body.department,
        jurisdiction=body.jurisdiction,
        url=body.url,
        events=list(dict.fromkeys(body.events)),
        min_level_rank=body.min_level_rank,
        regions=None if body.regions is None else sorted(set(body.regions)),
        categories=None if body.categories is None else sorted(set(body.categories)),
        secret_sealed=sharing.seal(secret),
        status="active",
        consecutive_failures=0,
        created_at=sharing.clock.now(),
        created_by=principal.key_id,
        request_key=request_key,
    )
    async with sharing.sessionmaker.begin() as session:
        session.add(sub)
    return SubscriptionCreated(**out_of(sub).model_dump(), secret=secret)


async def created_again(sharing: Sharing, request_key: str) -> SubscriptionCreated:
    """The answer to a retried create: the subscription it made, with its secret."""
    async with sharing.sessionmaker() as session:
        sub = await session.scalar(
            select(Subscription).where(Subscription.request_key == request_key)
        )
    if sub is None:
        raise Problem(404, "the subscription this request made is gone")
    secret = sharing.unseal(sub.secret_sealed)
    return SubscriptionCreated(**out_of(sub).model_dump(), secret=secret)


async def get(sharing: Sharing, subscription_id: str) -> Subscription:
    """A subscription; 404 if there is none."""
    async with sharing.sessionmaker() as session:
        sub = await session.get(Subscription, subscription_id)
    if sub is None:
        raise Problem(404, f"no subscription {subscription_id}")
    return sub


async def page(
    sharing: Sharing, *, cursor: str | None, limit: int
) -> tuple[list[Subscription], str | None]:
    """Subscriptions, newest first."""
    query = select(Subscription).order_by(Subscription.created_at.desc(), Subscription.id.desc())
    offset = _offset(cursor)
    async with sharing.sessionmaker() as session:
        rows = list((await session.scalars(query.offset(offset).limit(limit + 1))).all())
    more = len(rows) > limit
    return rows[:limit], _cursor(offset + limit) if more else None


async def remove(sharing: Sharing, subscription_id: str) -> None:
    """Delete a subscription and what it had still to receive."""
    async with sharing.sessionmaker.begin() as session:
        gone = await session.execute(delete(Subscription).where(Subscription.id == subscription_id))
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise Problem(404, f"no subscription {subscription_id}")
        await session.execute(
            delete(SharedDelivery).where(SharedDelivery.subscription_id == subscription_id)
        )


async def rotate(sharing: Sharing, subscription_id: str) -> SecretRotated:
    """A new secret; the current one still signs for the overlap."""
    secret = new_secret()
    now = sharing.clock.now()
    async with sharing.sessionmaker.begin() as session:
        sub = await session.get(Subscription, subscription_id)
        if sub is None:
            raise Problem(404, f"no subscription {subscription_id}")
        sub.previous_secret_sealed, sub.secret_sealed = sub.secret_sealed, sharing.seal(secret)
        sub.previous_until = now + sharing.overlap
    return SecretRotated(id=sub.id, secret=secret, previous_secret_until=sub.previous_until)


async def current_secret(sharing: Sharing, subscription_id: str) -> SecretRotated:
    """The answer to a retried rotation: the secret now in force."""
    sub = await get(sharing, subscription_id)
    assert sub.previous_until is not None
    return SecretRotated(
        id=sub.id,
        secret=sharing.unseal(sub.secret_sealed),
        previous_secret_until=sub.previous_until,
    )


async def resume(sharing: Sharing, subscription_id: str) -> Subscription:
    """Resume a paused subscription: what was pending goes out now, with a new retry window."""
    now = sharing.clock.now()
    async with sharing.sessionmaker.begin() as session:
        sub = await session.get(Subscription, subscription_id)
        if sub is None:
            raise Problem(404, f"no subscription {subscription_id}")
        sub.status, sub.paused_at, sub.paused_reason = "active", None, None
        sub.consecutive_failures = 0
        await session.execute(
            update(SharedDelivery)
            .where(
                SharedDelivery.subscription_id == subscription_id,
                SharedDelivery.status == "pending",
            )
            .values(next_attempt_at=now, give_up_at=now + sharing.retries.window)
        )
    return sub


async def deliveries(
    sharing: Sharing, subscription_id: str, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[SharedDelivery], str | None]:
    """A subscription's deliveries, newest first."""
    await get(sharing, subscription_id)
    query = select(SharedDelivery).where(SharedDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(SharedDelivery.status == status)
    if cursor is not None:
        query = query.where(SharedDelivery.id < _offset(cursor))
    async with sharing.sessionmaker() as session:
        rows = list(
            (await session.scalars(query.order_by(SharedDelivery.id.desc()).limit(limit + 1))).all()
        )
    more = len(rows) > limit
    return rows[:limit], _cursor(rows[limit - 1].id) if more else None


async def redeliver(sharing: Sharing, subscription_id: str, event_id: str) -> SharedDelivery:
    """Send an event to a subscription again, now, with a new retry window (and resume the
    subscription if it was paused: redelivering says the receiver is back)."""
    await resume(sharing, subscription_id)
    now = sharing.clock.now()
    async with sharing.sessionmaker.begin() as session:
        found = await session.scalar(
            select(SharedDelivery).where(
                SharedDelivery.subscription_id == subscription_id,
                SharedDelivery.event_id == event_id,
            )
        )
        if found is None:
            raise Problem(
                404, f"event {event_id} was not shared with subscription {subscription_id}"
            )
        found.status, found.next_attempt_at = "pending", now
        found.give_up_at = now + sharing.retries.window
    return found


def out_of(sub: Subscription) -> SubscriptionOut:
    """A subscription as the API shows it."""
    return SubscriptionOut(
        id=sub.id,
        name=sub.name,
        department=sub.department,
        jurisdiction=sub.jurisdiction,
        url=sub.url,
        events=list(sub.events),
        min_level_rank=sub.min_level_rank,
        regions=sub.regions,
        categories=sub.categories,
        status="paused" if sub.status == "paused" else "active",
        paused_at=sub.paused_at,
        paused_reason=sub.paused_reason,
        consecutive_failures=sub.consecutive_failures,
        last_delivered_at=sub.last_delivered_at,
        previous_secret_until=sub.previous_until,
        created_at=sub.created_at,
    )


def delivery_out(d: SharedDelivery) -> DeliveryOut:
    """A delivery as the API shows it."""
    return DeliveryOut(
        event_id=d.event_id,
        type=d.name,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        created_at=d.created_at,
    )


def _cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        value = -1
    if value < 0:
        raise Problem(400, "the cursor is not one this API gave out")
    return value

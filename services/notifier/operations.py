"""The API's operations: acknowledge, read, count, and keep the bodies' channels.

Who reads what is the one access rule (`libs.common.access`): a notification lies in its
jurisdiction and its incident's regions, and was sent to its body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.access import Item, ensure_jurisdiction, readable_or_403, scope_of
from libs.common.auth import Principal, Role
from libs.common.problems import TYPE_BASE, Problem
from libs.common.targets import target_problem
from services.notifier.delivery import SECRET_CONTEXT
from services.notifier.domain import Kind, NotAcknowledgeable, Notification, Status, Via
from services.notifier.metrics import ACK_LATENCY
from services.notifier.ontime import Outcome, on_time
from services.notifier.schemas import BodyOnTime, ChannelIn
from services.notifier.service import Notifier
from services.notifier.store import Filters
from services.notifier.tables import Channel, Delivery
from services.notifier.tables import Notification as Row


def item_of(n: Notification) -> Item:
    """Where a notification lies, for the access rule."""
    return Item(n.jurisdiction, regions=n.regions, bodies=(n.body_id,))


async def acknowledge(
    notifier: Notifier,
    notification_id: str,
    *,
    principal: Principal | None,
    note: str | None,
    via: Via,
) -> Notification:
    """Acknowledge: stops every further reminder and escalation. `principal` None is the
    one-click link, whose signature stands for the body it reached."""
    async with notifier.sessionmaker.begin() as session:
        n = await notifier.store.get_for_update(session, notification_id)
        if principal is not None:
            readable_or_403(principal, item_of(n) if n else None, "such notification")
        if n is None:
            raise Problem(404, f"no notification {notification_id}")
        if (
            principal is not None
            and principal.role is not Role.ADMIN
            and principal.body_id != n.body_id
        ):
            raise Problem(
                403,
                f"only a responder of {n.body_id} (or an admin) may acknowledge it",
            )
        now = notifier.clock.now()
        by = principal.actor if principal is not None else n.body_id
        try:
            done = n.acknowledge(at=now, by=by, note=note, via=via)
        except NotAcknowledgeable as exc:
            raise Problem(
                409,
                f"notification {n.id} is closed ({n.closed_reason}): it takes no acknowledgement",
                type_=TYPE_BASE + "notification-closed",
            ) from exc
        if done is None:
            return n  # acknowledged before: a repeat changes nothing
        notifier.store.save(session, n)
        if done.late_report is not None and done.late_report_exists:
            await notifier.store.answer_late_report(session, n.id, now)
        elif done.late_report is not None:
            notifier.store.add_late_report(session, done.late_report)
        ACK_LATENCY.labels(n.level).observe(
            (now - n.issued_at).total_seconds() * notifier.clock.time_scale
        )
        notifier.announce(session, n, "acknowledged")
        return n


async def get(notifier: Notifier, notification_id: str, *, principal: Principal) -> Notification:
    """One notification, if the caller may read it (403 if not, 404 if there is none)."""
    async with notifier.sessionmaker() as session:
        n = await notifier.store.get(session, notification_id)
    readable_or_403(principal, item_of(n) if n else None, f"notification {notification_id}")
    assert n is not None
    return n


async def page(
    notifier: Notifier, *, principal: Principal, filters: Filters, cursor: str | None, limit: int
) -> tuple[list[Notification], str | None]:
    """A page of the notifications the caller reads, newest first."""
    async with notifier.sessionmaker() as session:
        return await notifier.store.page(
            session, scope_of(principal), filters=filters, cursor=cursor, limit=limit
        )


async def on_time_stats(
    notifier: Notifier, *, principal: Principal, jurisdiction: str | None
) -> list[BodyOnTime]:
    """Per-body on-time statistics of responsible notifications."""
    jurisdiction = ensure_jurisdiction(principal, jurisdiction)
    async with notifier.sessionmaker() as session:
        rows = await notifier.store.outcomes(session, jurisdiction)
    stats = on_time(Outcome(r.body_id, Status(r.status), r.late) for r in rows)
    return [
        BodyOnTime(
            body_id=s.body_id,
            total=s.total,
            acknowledged_on_time=s.acknowledged_on_time,
            acknowledged_late=s.acknowledged_late,
            overdue=s.overdue,
            pending=s.pending,
            on_time_rate=s.on_time_rate,
        )
        for s in stats
    ]


async def counts(notifier: Notifier) -> dict[str, int]:
    """How many responsible notifications are in each status (for the metrics)."""
    async with notifier.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Row.status, func.count())
                .where(Row.kind == Kind.RESPONSIBLE.value)
                .group_by(Row.status)
            )
        ).all()
    return {status: int(n) for status, n in rows}


async def set_channels(
    notifier: Notifier, body_id: str, channels: Sequence[ChannelIn]
) -> list[Channel]:
    """Replace a body's channels; what was waiting to go out over the old ones goes out over
    the new ones instead."""
    if notifier.registry.body(body_id) is None:
        raise Problem(404, f"no body {body_id}")
    _refuse_local_targets(notifier, channels)
    now = notifier.clock.now()
    async with notifier.sessionmaker.begin() as session:
        old = list(
            (await session.execute(select(Channel).where(Channel.body_id == body_id))).scalars()
        )
        for channel in old:
            channel.enabled = False  # kept, so that the deliveries made over it keep their names
            channel.body_id = f"{body_id}#replaced"
        rows = [
            Channel(
                body_id=body_id,
                type=c.type,
                target=c.target,
                enabled=c.enabled,
                secret_sealed=notifier.cipher.encrypt(c.secret, context=SECRET_CONTEXT)
                if c.secret
                else None,
                created_at=now,
            )
            for c in channels
        ]
        session.add_all(rows)
        await session.flush()  # the new channels' ids
        await _redirect_pending(session, [c.id for c in old], [c for c in rows if c.enabled], now)
    return rows


def _refuse_local_targets(notifier: Notifier, channels: Sequence[ChannelIn]) -> None:
    errors = [
        {"loc": ("body", "channels", i, "target"), "msg": f"a webhook target {problem}"}
        for i, c in enumerate(channels)
        if c.type == "webhook"
        and (problem := target_problem(c.target, allow_local=notifier.allow_local_targets))
    ]
    if errors:
        raise RequestValidationError([e | {"type": "target_refused"} for e in errors])


async def _redirect_pending(
    session: AsyncSession, old: list[int], new: list[Channel], now: dt.datetime
) -> None:
    """Move the pending deliveries of replaced channels to the new ones: each message once
    over each new channel (its link's expiry still counted from when it was first queued)."""
    if not old:
        return
    pending = list(
        (
            await session.execute(
                select(Delivery).where(Delivery.channel_id.in_(old), Delivery.status == "pending")
            )
        ).scalars()
    )
    messages: dict[tuple[str, str], dt.datetime] = {}
    for delivery in pending:
        delivery.status, delivery.last_error = "cancelled", "channel replaced"
        key = (delivery.notification_id, delivery.purpose)
        messages[key] = min(messages.get(key, delivery.created_at), delivery.created_at)
    session.add_all(
        Delivery(
            notification_id=notification_id,
            purpose=purpose,
            channel=channel.type,
            channel_id=channel.id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=created_at,
        )
        for (notification_id, purpose), created_at in messages.items()
        for channel in new
    )


async def channels(notifier: Notifier, body_id: str) -> list[Channel]:
    """A body's channels; 404 for a body there is not."""
    if notifier.registry.body(body_id) is None:
        raise Problem(404, f"no body {body_id}")
    async with notifier.sessionmaker() as session:
        query = select(Channel).where(Channel.body_id == body_id).order_by(Channel.id)
        return list((await session.execute(query)).scalars())

"""The notifier: make notifications from warnings, hold each body to its deadline, escalate,
remind, deliver, and take acknowledgements."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.auth import Principal, Role
from libs.common.clock import SHANGHAI, Clock
from libs.common.db import claim, insert_at_commit, insert_now, lock
from libs.common.events import NOTIFICATION, new_event
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.pagination import newest_first, next_cursor
from libs.common.privacy import Cipher
from libs.common.problems import Problem
from services.notifier import domain
from services.notifier.channels import DeliveryError, Message, Sender, Target
from services.notifier.metrics import ACK_LATENCY, DELIVERY_FAILURES, ESCALATIONS, OVERDUE
from services.notifier.schemas import BodyOnTime, ChannelIn, NotificationOut
from services.notifier.tables import Channel, Delivery, LateReport, Notification

log = logging.getLogger(__name__)

SERVICE = "notifier"
_MAC_BYTES = 16
_SECRET_CONTEXT = "notifier_channels.secret"  # noqa: S105 - an AEAD context, not a secret
_KNOWN = "notifier.known"  # session.info key of the transaction's _Known


@dataclass
class _Known:
    """What one transaction has read and made, kept so that the later warnings of a consumed
    batch need not ask the database again, nor flush to it: the batch is flushed once."""

    # (warning id, body id) of the notifications that exist, made before or in this transaction
    made: set[tuple[str, str]] = field(default_factory=set)
    # warnings whose notifications were read from the database (into `made`)
    checked: set[str] = field(default_factory=set)
    # body id -> its enabled channels
    channels: dict[str, list[Channel]] = field(default_factory=dict)


def _known(session: AsyncSession) -> _Known:
    known: _Known = session.info.setdefault(_KNOWN, _Known())
    return known


@dataclass
class Notifier:
    """The notifier's operations over its tables."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    outbox: Outbox
    clock: Clock
    cipher: Cipher
    senders: Mapping[str, Sender]
    public_url: str
    signing_key: bytes
    reminder_fractions: Sequence[float] = (0.5, 0.9)
    max_attempts: int = 8
    backoff_seconds: float = 2.0
    ack_link_ttl: dt.timedelta = dt.timedelta(hours=72)

    # ------------------------------------------------------------------ warnings arrive

    async def prepare_warnings(
        self, session: AsyncSession, warnings: Sequence[tuple[str, dict[str, Any]]]
    ) -> None:
        """Read at once, for a batch of (event id, data) warnings, what making their
        notifications one by one would read warning by warning: which exist already, and the
        channels of the bodies warned."""
        known = _known(session)
        ids = [event_id for event_id, _ in warnings if event_id not in known.checked]
        if ids:
            with session.no_autoflush:
                known.made.update(
                    (warning_id, body_id)
                    for warning_id, body_id in await session.execute(
                        select(Notification.warning_id, Notification.body_id).where(
                            Notification.warning_id.in_(ids)
                        )
                    )
                )
            known.checked.update(ids)
        bodies: list[Any] = []  # the responsible body and the copies of every warning
        for _, data in warnings:
            warning = data.get("warning") or {}
            bodies.append((warning.get("routed_to") or {}).get("body_id"))
            bodies.extend(copy.get("body_id") for copy in warning.get("copies", []))
        await self._read_channels(session, {b for b in bodies if isinstance(b, str)})

    async def on_warning(self, session: AsyncSession, event_id: str, data: dict[str, Any]) -> None:
        """Make one notification per (warning, body): the responsible body and the copies."""
        warning = data.get("warning")
        if not warning:
            return  # an update of the incident, not a warning
        incident = data["incident"]
        if warning.get("by_assessment"):
            await self._close_pending(session, incident["id"])
        if warning.get("level") is None:
            return  # the warning was lifted: nothing more to deliver
        issued = dt.datetime.fromisoformat(warning["issued_at"])
        limit = dt.timedelta(seconds=float(warning["reporting_limit_seconds"]))
        summary = _summary(incident, warning)
        responsible = warning["routed_to"]["body_id"]
        await self._create(
            session,
            warning_id=event_id,
            incident=incident,
            warning=warning,
            body_id=responsible,
            kind="responsible",
            issued=issued,
            limit=limit,
            chain=list(warning.get("escalation_chain", [])),
            summary=summary,
            escalated_from=None,
        )
        for copy in warning.get("copies", []):
            await self._create(
                session,
                warning_id=event_id,
                incident=incident,
                warning=warning,
                body_id=copy["body_id"],
                kind="copy",
                issued=issued,
                limit=limit,
                chain=[],
                summary=summary,
                escalated_from=None,
            )

    async def _close_pending(self, session: AsyncSession, incident_id: str) -> None:
        """Close what is still pending for an incident the leading group has re-assessed: its
        decision is the acknowledgement, and nothing of the old level escalates further."""
        await insert_now(session)  # including what this transaction made, earlier in its batch
        pending = (
            await session.execute(
                lock(
                    select(Notification).where(
                        Notification.incident_id == incident_id, Notification.status == "pending"
                    ),
                    session,
                )
            )
        ).scalars()
        for notification in pending:
            await self._mark_acknowledged(
                session, notification, actor="assessment", note="预警已由领导小组评估调整或解除"
            )

    async def _mark_acknowledged(
        self, session: AsyncSession, notification: Notification, *, actor: str, note: str | None
    ) -> None:
        """Acknowledge a locked notification: no reminder or escalation follows; late is late."""
        now = self.clock.now()
        notification.late = domain.is_late(now, notification.due_at)
        notification.status = "acknowledged"
        notification.acknowledged_at = now
        notification.acknowledged_by = actor
        notification.ack_note = note
        notification.next_reminder_at = None
        await session.execute(
            update(Delivery)
            .where(
                Delivery.notification_id == notification.id,
                Delivery.purpose == "reminder",
                Delivery.status == "pending",
            )
            .values(status="cancelled")
        )
        if notification.late:
            # Acknowledged after the deadline: a late report, whether or not the clock had
            # noticed yet (if it had not, the acknowledgement still stops the escalation).
            report = await session.scalar(
                select(LateReport).where(LateReport.notification_id == notification.id)
            )
            if report is None:
                insert_at_commit(
                    session, LateReport, _late_report(notification, now, acknowledged=True)
                )
            else:
                report.acknowledged_at = now
        ACK_LATENCY.labels(notification.level).observe(
            (now - notification.issued_at).total_seconds() * self.clock.time_scale
        )
        self._announce(session, self.to_out(notification), "acknowledged", extra={"by": actor})

    async def _create(
        self,
        session: AsyncSession,
        *,
        warning_id: str,
        incident: dict[str, Any],
        warning: dict[str, Any],
        body_id: str,
        kind: str,
        issued: dt.datetime,
        limit: dt.timedelta,
        chain: list[str],
        summary: dict[str, Any],
        escalated_from: str | None,
    ) -> dict[str, Any] | None:
        """Make a notification (inserted at commit, like its deliveries), unless it exists."""
        known = _known(session)
        if (warning_id, body_id) in known.made:
            return None  # made before, or earlier in this transaction
        if warning_id not in known.checked:
            with session.no_autoflush:  # the transaction's own rows are flushed once, at commit
                exists = await session.scalar(
                    select(Notification.id).where(
                        Notification.warning_id == warning_id, Notification.body_id == body_id
                    )
                )
            if exists is not None:
                return None
        known.made.add((warning_id, body_id))
        due = domain.due_at(issued, limit) if kind == "responsible" else None
        fractions = list(self.reminder_fractions) if kind == "responsible" else []
        now = self.clock.now()
        notification: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "incident_id": incident["id"],
            "jurisdiction": incident["jurisdiction"],
            "body_id": body_id,
            "kind": kind,
            "level": warning["level"],
            "level_label": warning.get("level_label", warning["level"]),
            "policy": warning.get("policy", ""),
            "warning_id": warning_id,
            "issued_at": issued,
            "due_at": due,
            "status": "pending",
            "acknowledged_at": None,
            "acknowledged_by": None,
            "ack_note": None,
            "late": False,
            "escalated_from": escalated_from,
            "limit_seconds": limit.total_seconds(),
            "escalation_chain": chain,
            "reminder_fractions": fractions,
            "next_reminder_at": domain.next_reminder(issued, due, fractions, after=now)
            if due
            else None,
            "reminders_sent": 0,
            "summary": summary,
            "drill": bool(warning.get("drill")),
            "created_at": now,
        }
        insert_at_commit(session, Notification, notification)
        await self._queue(session, notification["id"], body_id, "notice", now)
        self._announce(session, self.to_out(notification), "sent")
        return notification

    async def _queue(
        self,
        session: AsyncSession,
        notification_id: str,
        body_id: str,
        purpose: str,
        now: dt.datetime,
    ) -> None:
        await self._read_channels(session, {body_id})
        for channel in _known(session).channels[body_id]:
            insert_at_commit(
                session,
                Delivery,
                {
                    "notification_id": notification_id,
                    "purpose": purpose,
                    "channel": channel.type,
                    "channel_id": channel.id,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": None,
                    "created_at": now,
                    "sent_at": None,
                },
            )

    async def _read_channels(self, session: AsyncSession, body_ids: set[str]) -> None:
        """Read the enabled channels of bodies whose channels the transaction does not know."""
        known = _known(session).channels
        ids = body_ids - known.keys()
        if not ids:
            return
        query = select(Channel).where(Channel.body_id.in_(ids), Channel.enabled.is_(True))
        for body_id in ids:
            known[body_id] = []
        with session.no_autoflush:
            for channel in await session.scalars(query.order_by(Channel.id)):
                known[channel.body_id].append(channel)

    # -------------------------------------------------------------------------- the clock

    async def fire_deadlines(self, *, limit: int = 500) -> int:
        """Mark what passed its deadline unacknowledged as overdue, and escalate it."""
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            due = (
                select(Notification.id)
                .where(
                    Notification.status == "pending",
                    Notification.kind == "responsible",
                    Notification.due_at <= now,
                )
                .order_by(Notification.due_at)
                .limit(limit)
            )
            # Replicas share the work; an ack waiting on a claimed row sees the outcome. One
            # UPDATE … RETURNING marks the whole batch.
            marked = await session.scalars(
                update(Notification)
                .where(Notification.id.in_(claim(due, session).scalar_subquery()))
                .values(status="overdue", next_reminder_at=None)
                .returning(Notification),
                execution_options={"synchronize_session": False},
            )
            overdue = list(marked)
            # A notification turns overdue once (the UPDATE above), and only then escalates:
            # no escalation of these exists yet (a unique index would refuse a second).
            _known(session).checked.update(_escalation_id(n) for n in overdue)
            for notification in overdue:
                await self._overdue(session, notification, now)
        return len(overdue)

    async def _overdue(
        self, session: AsyncSession, notification: Notification, now: dt.datetime
    ) -> None:
        """Record a notification just marked overdue: the late report, the event, escalation."""
        assert notification.due_at is not None
        insert_at_commit(session, LateReport, _late_report(notification, now, acknowledged=False))
        OVERDUE.labels(notification.jurisdiction).inc()
        out = self.to_out(notification)
        self._announce(session, out, "overdue")
        up = domain.escalate_to(notification.escalation_chain)
        if up is None:
            return  # the top of the chain: recorded as late, nowhere higher to go
        body_id, rest = up
        escalated = await self._create(
            session,
            warning_id=_escalation_id(notification),
            incident={"id": notification.incident_id, "jurisdiction": notification.jurisdiction},
            warning={
                "level": notification.level,
                "level_label": notification.level_label,
                "policy": notification.policy,
                "drill": notification.drill,
            },
            body_id=body_id,
            kind="responsible",
            issued=now,
            limit=dt.timedelta(seconds=notification.limit_seconds),
            chain=rest,
            summary={**notification.summary, "escalated_from_body": notification.body_id},
            escalated_from=notification.id,
        )
        if escalated is not None:
            ESCALATIONS.labels(notification.jurisdiction).inc()
            self._announce(
                session,
                out,
                "escalated",
                extra={"escalated_to": escalated["id"], "to_body_id": body_id},
            )

    async def send_reminders(self, *, limit: int = 200) -> int:
        """Queue reminders whose time has come for notifications still pending."""
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            query = (
                select(Notification)
                .where(Notification.status == "pending", Notification.next_reminder_at <= now)
                .order_by(Notification.next_reminder_at)
                .limit(limit)
            )
            query = claim(query, session)
            rows = list((await session.execute(query)).scalars())
            for notification in rows:
                assert notification.due_at is not None
                notification.reminders_sent += 1
                notification.next_reminder_at = domain.next_reminder(
                    notification.issued_at,
                    notification.due_at,
                    notification.reminder_fractions,
                    after=now,
                )
                await self._queue(session, notification.id, notification.body_id, "reminder", now)
                self._announce(session, self.to_out(notification), "reminded")
        return len(rows)

    # ------------------------------------------------------------------------ delivering

    async def deliver_due(self, *, limit: int = 50) -> int:
        """Send the deliveries whose time has come; retry failures with backoff."""
        now = self.clock.now()
        lease = now + dt.timedelta(seconds=60)
        async with self.sessionmaker.begin() as session:
            query = (
                select(Delivery)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(limit)
            )
            query = claim(query, session)
            claimed = list((await session.execute(query)).scalars())
            for delivery in claimed:  # the lease: no one else takes it while we send
                delivery.next_attempt_at = lease
                delivery.attempts += 1
        for delivery in claimed:
            await self._deliver(delivery.id)
        return len(claimed)

    async def _deliver(self, delivery_id: int) -> None:
        # Built from the notification as it is now, never from a copy taken when the delivery
        # was queued: a retry after an acknowledgement sends no stale "please acknowledge".
        async with self.sessionmaker() as session:
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            notification = await session.get(Notification, delivery.notification_id)
            channel = await session.get(Channel, delivery.channel_id)
        assert notification is not None
        now = self.clock.now()
        if delivery.purpose == "reminder" and notification.status != "pending":
            await self._finish(delivery_id, "cancelled", None, now)
            return
        if channel is None or not channel.enabled:
            await self._finish(delivery_id, "cancelled", "channel removed", now)
            return
        secret = (
            self.cipher.decrypt(channel.secret_sealed, context=_SECRET_CONTEXT)
            if channel.secret_sealed
            else None
        )
        message = self.compose(notification, delivery)
        try:
            await self.senders[channel.type].send(Target(channel.target, secret), message)
        except (DeliveryError, KeyError) as exc:
            DELIVERY_FAILURES.labels(channel.type).inc()
            if delivery.attempts >= self.max_attempts:
                await self._finish(delivery_id, "failed", str(exc), now)
                log.warning(
                    "delivery failed for good",
                    extra={"delivery_id": delivery_id, "channel": channel.type, "error": str(exc)},
                )
            else:
                retry_at = now + domain.retry_delay(
                    delivery.attempts, base_seconds=self.backoff_seconds
                )
                async with self.sessionmaker.begin() as session:
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id == delivery_id)
                        .values(next_attempt_at=retry_at, last_error=str(exc))
                    )
            return
        await self._finish(delivery_id, "sent", None, now)

    async def _finish(
        self, delivery_id: int, status: str, error: str | None, now: dt.datetime
    ) -> None:
        async with self.sessionmaker.begin() as session:
            delivery = await session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.status = status
            delivery.last_error = error
            if status == "sent":
                delivery.sent_at = now
                notification = await session.get(Notification, delivery.notification_id)
                assert notification is not None
                self._announce(
                    session,
                    self.to_out(notification),
                    "delivered",
                    extra={"channel": delivery.channel, "purpose": delivery.purpose},
                )

    def compose(self, notification: Notification, delivery: Delivery) -> Message:
        """The message of a delivery, in Chinese, with a one-click acknowledgement link.

        The link's expiry counts from when the delivery was queued, so every channel of one
        notice carries the same link, however far apart their sends fall.
        """
        purpose = delivery.purpose
        s = notification.summary
        body = self.registry.body(notification.body_id)
        body_name = body[1].name if body else notification.body_id
        due = (
            notification.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            if notification.due_at
            else None
        )
        link = (
            self.ack_url(notification.id, issued_at=delivery.created_at)
            if notification.kind == "responsible"
            else None
        )
        drill = "【演练】" if notification.drill else ""
        head = "提醒：" if purpose == "reminder" else ""
        if notification.escalated_from:
            head += "逾期升级："
        subject = (
            f"{drill}{head}【{notification.level_label}】{s.get('enterprise') or '劳动纠纷'}"
            " 劳动关系领域风险预警"
        )
        lines = [
            f"{body_name}：",
            "",
            f"预警级别：{notification.level_label}",
            f"预警企业：{s.get('enterprise') or '（未提供）'}",
            f"所在区域：{'、'.join(s.get('regions') or [])}",
            f"涉及人数：{s.get('workers_involved')} 人；涉案金额：{s.get('amount_yuan')} 元",
            f"群体性事件或集体停工：{s.get('collective_action')}",
            f"预警依据：{'；'.join(s.get('reasons') or [])}",
        ]
        if s.get("escalated_from_body"):
            lines.append(f"原责任单位 {s['escalated_from_body']} 未在时限内确认，现逐级上报。")
        if due:
            lines.append(f"请于 {due}（北京时间）前确认并上报，不得瞒报、漏报或拖延。")
        if link:
            lines += ["", f"一键确认：{link}"]
        payload = {
            "type": "laborwatch.notification.v1",
            "purpose": purpose,
            "notification": self.to_out(notification).model_dump(mode="json"),
            "summary": s,
            "ack_url": link,
        }
        return Message(
            message_id=f"lw-delivery-{delivery.id}",
            subject=subject,
            text="\n".join(lines) + "\n",
            payload=payload,
        )

    # -------------------------------------------------------------------- acknowledgement

    async def acknowledge(
        self, notification_id: str, *, actor: str, note: str | None, principal: Principal | None
    ) -> Notification:
        """Acknowledge: stops every further reminder and escalation of the notification."""
        async with self.sessionmaker.begin() as session:
            query = select(Notification).where(Notification.id == notification_id)
            query = lock(query, session)  # waits for a clock holding the row
            notification = await session.scalar(query)
            if notification is None:
                raise Problem(404, f"no notification {notification_id}")
            if (
                principal is not None
                and principal.role is not Role.ADMIN
                and principal.body_id != notification.body_id
            ):
                raise Problem(
                    403,
                    f"only a responder of {notification.body_id} (or an admin) "
                    "may acknowledge this notification",
                )
            if notification.status == "acknowledged":
                return notification  # a repeated acknowledgement changes nothing
            await self._mark_acknowledged(session, notification, actor=actor, note=note)
            return notification

    def ack_url(self, notification_id: str, *, issued_at: dt.datetime) -> str:
        """A signed one-click acknowledgement link, good for the link lifetime from `issued_at`."""
        expires = int((issued_at + self.ack_link_ttl).timestamp())
        claim = f"{notification_id}.{expires}"
        mac = hmac.new(self.signing_key, claim.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
        token = base64.urlsafe_b64encode(claim.encode() + b"." + mac).decode().rstrip("=")
        return f"{self.public_url.rstrip('/')}/ack/{token}"

    def read_ack_token(self, token: str) -> str:
        """The notification id a link token names, if its signature holds and it is current."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            # The MAC is the last 16 bytes, raw: it may itself contain a ".".
            claim, separator, mac = (
                raw[: -_MAC_BYTES - 1],
                raw[-_MAC_BYTES - 1 : -_MAC_BYTES],
                raw[-_MAC_BYTES:],
            )
            if separator != b"." or len(mac) != _MAC_BYTES:
                raise ValueError("malformed token")
            notification_id, expires = claim.decode().rsplit(".", 1)
            expected = hmac.new(self.signing_key, claim, hashlib.sha256).digest()[:_MAC_BYTES]
            valid = hmac.compare_digest(mac, expected)
            current = int(expires) >= self.clock.now().timestamp()
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise Problem(401, "this acknowledgement link is not valid") from exc
        if not valid:
            raise Problem(401, "this acknowledgement link is not valid")
        if not current:
            raise Problem(401, "this acknowledgement link has expired; acknowledge in the API")
        return notification_id

    # ------------------------------------------------------------------------------ read

    async def page(
        self,
        *,
        principal: Principal,
        limit: int,
        cursor: str | None,
        incident_id: str | None,
        body_id: str | None,
        status: str | None,
    ) -> tuple[list[Notification], str | None]:
        """A page of notifications, newest first."""
        query = select(Notification)
        if principal.role is Role.RESPONDER:
            query = query.where(Notification.body_id == principal.body_id)
        elif principal.role is not Role.ADMIN:
            query = query.where(Notification.jurisdiction == principal.jurisdiction)
        for column, value in (
            (Notification.incident_id, incident_id),
            (Notification.body_id, body_id),
            (Notification.status, status),
        ):
            if value is not None:
                query = query.where(column == value)
        query = newest_first(
            query, Notification.created_at, Notification.id, cursor=cursor, limit=limit
        )
        async with self.sessionmaker() as session:
            rows = list((await session.execute(query)).scalars())
        return rows[:limit], next_cursor(rows, limit, Notification.created_at)

    async def on_time(self, *, principal: Principal, jurisdiction: str | None) -> list[BodyOnTime]:
        """Per-body on-time statistics of responsible notifications."""
        if principal.role is not Role.ADMIN:
            if jurisdiction not in (None, principal.jurisdiction):
                raise Problem(403, f"this key may not read jurisdiction {jurisdiction}")
            jurisdiction = principal.jurisdiction
        query = select(Notification.body_id, Notification.status, Notification.late).where(
            Notification.kind == "responsible"
        )
        if jurisdiction is not None:
            query = query.where(Notification.jurisdiction == jurisdiction)
        async with self.sessionmaker() as session:
            rows = (await session.execute(query)).all()
        stats = domain.on_time(domain.Outcome(r.body_id, r.status, r.late) for r in rows)
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

    async def counts(self) -> dict[str, int]:
        """How many notifications are pending and overdue (for the metrics)."""
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.kind == "responsible")
                    .group_by(Notification.status)
                )
            ).all()
        return {status: int(n) for status, n in rows}

    # -------------------------------------------------------------------------- channels

    async def set_channels(self, body_id: str, channels: Sequence[ChannelIn]) -> list[Channel]:
        """Replace a body's channels."""
        if self.registry.body(body_id) is None:
            raise Problem(404, f"no body {body_id}")
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            old = (
                await session.execute(select(Channel).where(Channel.body_id == body_id))
            ).scalars()
            for channel in old:
                channel.enabled = False  # kept, so that queued deliveries are cancelled cleanly
                channel.body_id = f"{body_id}#replaced"
            rows = [
                Channel(
                    body_id=body_id,
                    type=c.type,
                    target=c.target,
                    enabled=c.enabled,
                    secret_sealed=self.cipher.encrypt(c.secret, context=_SECRET_CONTEXT)
                    if c.secret
                    else None,
                    created_at=now,
                )
                for c in channels
            ]
            session.add_all(rows)
        return rows

    async def channels(self, body_id: str) -> list[Channel]:
        """A body's channels."""
        async with self.sessionmaker() as session:
            return list(
                (
                    await session.execute(
                        select(Channel).where(Channel.body_id == body_id).order_by(Channel.id)
                    )
                ).scalars()
            )

    # --------------------------------------------------------------------------- helpers

    def to_out(self, n: Notification | Mapping[str, Any]) -> NotificationOut:
        """Render a notification (a row read, or one made in this transaction) for the API
        and the events."""
        return NotificationOut.model_validate(n, from_attributes=True)

    def _announce(
        self,
        session: AsyncSession,
        notification: NotificationOut,
        kind: str,
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        data = {
            "kind": kind,
            "incident_id": notification.incident_id,
            "notification": notification.model_dump(mode="json"),
            **(extra or {}),
        }
        self.outbox.add(
            session,
            topic=NOTIFICATION,
            event_=new_event(
                service=SERVICE,
                type_=NOTIFICATION,
                subject=notification.id,
                key=f"{notification.jurisdiction}|{notification.incident_id}",
                data=data,
            ),
        )


def _escalation_id(notification: Notification) -> str:
    """The warning id of a notification's escalation: one per notification."""
    return f"escalation:{notification.id}"


def _late_report(
    notification: Notification, now: dt.datetime, *, acknowledged: bool
) -> dict[str, Any]:
    """The record of a missed deadline (迟报), found now; acknowledged now, or not yet."""
    assert notification.due_at is not None
    return {
        "notification_id": notification.id,
        "incident_id": notification.incident_id,
        "body_id": notification.body_id,
        "level": notification.level,
        "due_at": notification.due_at,
        "detected_at": now,
        "acknowledged_at": now if acknowledged else None,
    }


def _summary(incident: dict[str, Any], warning: dict[str, Any]) -> dict[str, Any]:
    """The essentials of a warning that every message repeats."""
    enterprise = incident.get("enterprise") or {}
    return {
        "enterprise": enterprise.get("name"),
        "credit_code": enterprise.get("credit_code"),
        "category": incident.get("category"),
        "regions": incident.get("regions", []),
        "workers_involved": incident.get("workers_involved"),
        "amount_yuan": incident.get("amount_yuan"),
        "collective_action": incident.get("collective_action"),
        "reasons": warning.get("reasons", []),
        "kind": incident.get("kind"),
    }

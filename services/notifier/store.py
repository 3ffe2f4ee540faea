"""Where the notifier's notifications live: sessions, locks, claims, batch reads and the
per-transaction cache. The speed work is here, so that no handler can get it wrong.

A transaction's new rows are inserted at commit, all of a table in one statement; its changed
notifications are written at commit too, in one statement. So the transaction keeps what it
read and made (`_Tx`): a later event of the same batch finds there what the database would
not show it yet, and the batch is flushed once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, event, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from libs.common.access import ReadScope
from libs.common.db import claim, insert_at_commit, lock
from libs.common.pagination import newest_first, next_cursor
from services.notifier.domain import ClosedReason, Kind, LateReport, Notification, Purpose, Status
from services.notifier.tables import Channel, Delivery, aggregate, late_row, row_of
from services.notifier.tables import LateReport as LateReportRow
from services.notifier.tables import Notification as Row

_TABLE = cast(Table, Row.__table__)
_TX = "notifier.tx"  # session.info key of the transaction's _Tx
# What acknowledging, closing, firing and reminding change: written back at commit.
_CHANGING = (
    "status",
    "closed_reason",
    "closed_at",
    "acknowledged_at",
    "acknowledged_by",
    "ack_note",
    "ack_via",
    "late",
    "next_reminder_at",
    "reminders_sent",
)
_SAVE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("_id"))
    .values({name: bindparam(name) for name in _CHANGING})
)


@dataclass
class _Tx:
    """What one transaction has read and made."""

    # (warning id, body id) of the notifications that exist, made before or in this transaction
    made: set[tuple[str, str]] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)  # warnings whose notifications were read
    # incident id -> its pending notifications read; and those made in this transaction
    pending: dict[str, list[Notification]] = field(default_factory=dict)
    made_for: dict[str, list[Notification]] = field(default_factory=dict)
    channels: dict[str, list[Channel]] = field(default_factory=dict)  # body id -> enabled
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # made here, by id
    changed: dict[str, Notification] = field(default_factory=dict)  # read here, changed
    cancel_reminders: set[str] = field(default_factory=set)


def _tx(session: AsyncSession) -> _Tx:
    sync = session.sync_session
    tx: _Tx | None = sync.info.get(_TX)
    if tx is None:
        tx = sync.info[_TX] = _Tx()
        event.listen(sync, "before_commit", _write_changes)
        event.listen(sync, "after_commit", _forget)
        event.listen(sync, "after_rollback", _forget)
    return tx


def _write_changes(session: Session) -> None:
    tx: _Tx = session.info[_TX]
    if tx.changed:
        session.execute(_SAVE, [_changes(n) for n in tx.changed.values()])
        tx.changed.clear()
    if tx.cancel_reminders:
        session.execute(
            update(Delivery)
            .where(
                Delivery.notification_id.in_(sorted(tx.cancel_reminders)),
                Delivery.purpose == Purpose.REMINDER.value,
                Delivery.status == "pending",
            )
            .values(status="cancelled")
        )
        tx.cancel_reminders.clear()


def _forget(session: Session) -> None:
    # The next transaction of the session reads afresh (the listeners stay: they find it).
    session.info[_TX] = _Tx()


def _changes(n: Notification) -> dict[str, Any]:
    row = row_of(n)
    return {"_id": n.id, **{name: row[name] for name in _CHANGING}}


@dataclass(frozen=True)
class Filters:
    """What a list of notifications is narrowed to (None: any)."""

    incident_id: str | None = None
    body_id: str | None = None
    status: Status | None = None
    closed_reason: ClosedReason | None = None


class NotificationStore:
    """The notifier's reads and writes, within a session the caller holds."""

    # ------------------------------------------------------------------ warnings arrive

    async def prefetch(
        self,
        session: AsyncSession,
        *,
        warning_ids: Collection[str],
        incident_ids: Collection[str],
        body_ids: Collection[str],
    ) -> None:
        """Read at once, for a batch of warnings, what handling them one by one would read
        warning by warning: which notifications exist already, what is pending for their
        incidents (a rise closes it), and the channels of the bodies warned."""
        tx = _tx(session)
        ids = set(warning_ids) - tx.checked
        incidents = set(incident_ids) - tx.pending.keys()
        if ids or incidents:
            query = select(_TABLE).where(
                or_(
                    _TABLE.c.warning_id.in_(ids),
                    and_(
                        _TABLE.c.incident_id.in_(incidents),
                        _TABLE.c.status == Status.PENDING.value,
                    ),
                )
            )
            if incidents:
                # Locked: an acknowledgement waits for the closing (and then finds it closed);
                # the clock skips what is locked, and finds it closed next time.
                query = lock(query, session)
            tx.checked.update(ids)
            for incident_id in incidents:
                tx.pending[incident_id] = []
            for found in await session.execute(query):
                self._know(tx, aggregate(found), incidents)
        await self._read_channels(session, tx, set(body_ids))

    @staticmethod
    def _know(tx: _Tx, n: Notification, incidents: Collection[str]) -> None:
        tx.made.add((n.warning_id, n.body_id))
        if n.incident_id in incidents and n.status is Status.PENDING:
            tx.pending[n.incident_id].append(n)

    async def exists(self, session: AsyncSession, warning_id: str, body_id: str) -> bool:
        """Say whether the notification of a warning to a body exists."""
        tx = _tx(session)
        if warning_id not in tx.checked:
            await self.prefetch(session, warning_ids=[warning_id], incident_ids=(), body_ids=())
        return (warning_id, body_id) in tx.made

    async def pending_of(self, session: AsyncSession, incident_id: str) -> list[Notification]:
        """The pending notifications of an incident (those made in this transaction too)."""
        tx = _tx(session)
        if incident_id not in tx.pending:
            await self.prefetch(session, warning_ids=(), incident_ids=[incident_id], body_ids=())
        found = tx.pending[incident_id] + tx.made_for.get(incident_id, [])
        return [n for n in found if n.status is Status.PENDING]

    async def add(self, session: AsyncSession, n: Notification, *, now: dt.datetime) -> None:
        """Insert a new notification at commit, with a notice to each of its body's channels."""
        tx = _tx(session)
        tx.made.add((n.warning_id, n.body_id))
        tx.rows[n.id] = row = row_of(n)
        insert_at_commit(session, Row, row)
        if n.status is Status.PENDING:
            tx.made_for.setdefault(n.incident_id, []).append(n)
        await self.queue(session, n, Purpose.NOTICE, now=now)

    def save(self, session: AsyncSession, n: Notification) -> None:
        """Write a changed notification at commit; its queued reminders go if it is no longer
        pending. (One made in this transaction is still a row kept for commit: it goes in as it
        is now. Nothing here calls `insert_now`, which would write it earlier.)"""
        tx = _tx(session)
        made = tx.rows.get(n.id)
        if made is not None:
            made.update(row_of(n))  # not inserted yet: it goes in as it is now
        else:
            tx.changed[n.id] = n
        if n.status is not Status.PENDING:
            tx.cancel_reminders.add(n.id)

    async def queue(
        self, session: AsyncSession, n: Notification, purpose: Purpose, *, now: dt.datetime
    ) -> None:
        """Queue a message of a notification to each enabled channel of its body."""
        tx = _tx(session)
        await self._read_channels(session, tx, {n.body_id})
        for channel in tx.channels[n.body_id]:
            insert_at_commit(
                session,
                Delivery,
                {
                    "notification_id": n.id,
                    "purpose": purpose.value,
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

    async def _read_channels(self, session: AsyncSession, tx: _Tx, body_ids: set[str]) -> None:
        ids = body_ids - tx.channels.keys()
        if not ids:
            return
        for body_id in ids:
            tx.channels[body_id] = []
        query = select(Channel).where(Channel.body_id.in_(ids), Channel.enabled.is_(True))
        with session.no_autoflush:
            for channel in await session.scalars(query.order_by(Channel.id)):
                tx.channels[channel.body_id].append(channel)

    # ------------------------------------------------------------------ late reports

    def add_late_report(self, session: AsyncSession, report: LateReport) -> None:
        """Record a missed deadline (迟报), at commit."""
        insert_at_commit(session, LateReportRow, late_row(report))

    async def answer_late_report(
        self, session: AsyncSession, notification_id: str, at: dt.datetime
    ) -> None:
        """Record when a missed deadline was acknowledged at last."""
        await session.execute(
            update(LateReportRow)
            .where(LateReportRow.notification_id == notification_id)
            .values(acknowledged_at=at)
        )

    # ------------------------------------------------------------------ one, locked

    async def get_for_update(
        self, session: AsyncSession, notification_id: str
    ) -> Notification | None:
        """A notification, locked until the transaction ends (waiting for a clock holding it)."""
        query = lock(select(_TABLE).where(_TABLE.c.id == notification_id), session)
        found = (await session.execute(query)).first()
        return aggregate(found) if found else None

    async def get(self, session: AsyncSession, notification_id: str) -> Notification | None:
        """A notification, as it is now."""
        found = (
            await session.execute(select(_TABLE).where(_TABLE.c.id == notification_id))
        ).first()
        return aggregate(found) if found else None

    # ------------------------------------------------------------------ the clock's claims

    async def claim_due(
        self, session: AsyncSession, now: dt.datetime, *, limit: int
    ) -> list[Notification]:
        """Claim pending notifications past their deadline; replicas skip each other's."""
        query = (
            select(_TABLE)
            .where(
                _TABLE.c.status == Status.PENDING.value,
                _TABLE.c.kind == Kind.RESPONSIBLE.value,
                _TABLE.c.due_at <= now,
            )
            .order_by(_TABLE.c.due_at)
            .limit(limit)
        )
        return [aggregate(r) for r in await session.execute(claim(query, session))]

    async def claim_reminders(
        self, session: AsyncSession, now: dt.datetime, *, limit: int
    ) -> list[Notification]:
        """Claim pending notifications whose reminder time has come."""
        query = (
            select(_TABLE)
            .where(_TABLE.c.status == Status.PENDING.value, _TABLE.c.next_reminder_at <= now)
            .order_by(_TABLE.c.next_reminder_at)
            .limit(limit)
        )
        return [aggregate(r) for r in await session.execute(claim(query, session))]

    # ------------------------------------------------------------------ reading lists

    async def page(
        self,
        session: AsyncSession,
        scope: ReadScope,
        *,
        filters: Filters,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Notification], str | None]:
        """A page of the notifications a scope reads that match the filters, newest first."""
        query = select(_TABLE)
        if scope.own_key is not None:
            query = query.where(false())  # a reporter reads reports, not notifications
        if scope.jurisdiction is not None:
            query = query.where(_TABLE.c.jurisdiction == scope.jurisdiction)
        if scope.body_id is not None and scope.region is not None:
            query = query.where(
                or_(
                    _TABLE.c.body_id == scope.body_id,
                    _TABLE.c.region_set.contains(f",{scope.region},", autoescape=True),
                )
            )
        elif scope.body_id is not None:
            query = query.where(_TABLE.c.body_id == scope.body_id)
        for column, value in (
            (_TABLE.c.incident_id, filters.incident_id),
            (_TABLE.c.body_id, filters.body_id),
            (_TABLE.c.status, filters.status),
            (_TABLE.c.closed_reason, filters.closed_reason),
        ):
            if value is not None:
                query = query.where(column == str(value))
        query = newest_first(query, Row.created_at, Row.id, cursor=cursor, limit=limit)
        rows = [aggregate(r) for r in await session.execute(query)]
        return rows[:limit], next_cursor(rows, limit, Row.created_at)

    async def outcomes(self, session: AsyncSession, jurisdiction: str | None) -> Sequence[Any]:
        """(body, status, late) of every responsible notification, for on-time statistics."""
        query = select(_TABLE.c.body_id, _TABLE.c.status, _TABLE.c.late).where(
            _TABLE.c.kind == Kind.RESPONSIBLE.value
        )
        if jurisdiction is not None:
            query = query.where(_TABLE.c.jurisdiction == jurisdiction)
        return (await session.execute(query)).all()

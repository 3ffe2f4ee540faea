"""Where monitoring's rows live. An upload of 10,000 rows is a handful of statements: the
register and the history of every enterprise named are read in one query each (chunked under
the drivers' parameter limits), and observations, alerts and events are written in one
transaction with executemany."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.contracts import MonitoringAlert, partition_key
from libs.common.db import claim, lock
from libs.common.outbox import Outbox
from libs.common.pagination import decode_cursor, encode_cursor
from libs.common.problems import Problem
from services.monitoring.evaluate import STORED
from services.monitoring.tables import alerts, enterprise_history, enterprises, observations

CHUNK = 5_000  # ids per IN (...): well under PostgreSQL's and SQLite's parameter limits

_RELEASE = (
    update(observations).where(observations.c.id == bindparam("old_id")).values(is_current=False)
)
_LINK = (
    update(alerts).where(alerts.c.id == bindparam("alert_id")).values(report_id=bindparam("rid"))
)
_ADVANCE = (
    update(enterprises)
    .where(enterprises.c.credit_code == bindparam("code"))
    .values(missing_period=bindparam("period"), missing_due_at=bindparam("due"))
)


# What an upload's evaluation reads of the stored observations, in its order.
_SERIES = [observations.c[name] for name in STORED]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass(frozen=True)
class Upload:
    """What one upload writes: new observation rows, the ids of the revisions they replace,
    the new alerts and their events."""

    rows: list[dict[str, Any]]
    replaced: list[str]
    alerts: list[dict[str, Any]]
    events: list[MonitoringAlert]


@dataclass
class MonitoringStore:
    """Monitoring's tables, and the outbox its alerts leave by."""

    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Outbox

    # ------------------------------------------------------------------------- register

    async def put_enterprise(
        self,
        code: str,
        values: dict[str, Any],
        *,
        actor: str,
        now: dt.datetime,
        first_period: str,
        first_due: dt.datetime,
    ) -> tuple[bool, Row[Any]]:
        """Register an enterprise, or change its entry; True if it is newly monitored."""
        async with self.sessionmaker.begin() as session:
            found = await self._locked(session, code)
            created = found is None or found.ended_at is not None
            row = {**values, "updated_at": now}
            if created:
                row |= {
                    "registered_at": now,
                    "ended_at": None,
                    "missing_period": first_period,
                    "missing_due_at": first_due,
                }
            if found is None:
                await session.execute(insert(enterprises).values(credit_code=code, **row))
            else:
                await session.execute(
                    update(enterprises).where(enterprises.c.credit_code == code).values(**row)
                )
            await self._history(
                session, code, "registered" if created else "changed", values, actor, now
            )
            saved = await self._locked(session, code)
        assert saved is not None
        return created, saved

    async def end_enterprise(self, code: str, *, actor: str, now: dt.datetime) -> bool:
        """End an enterprise's monitoring (its row and history stay); False if not monitored."""
        async with self.sessionmaker.begin() as session:
            found = await self._locked(session, code)
            if found is None or found.ended_at is not None:
                return False
            await session.execute(
                update(enterprises)
                .where(enterprises.c.credit_code == code)
                .values(ended_at=now, updated_at=now, missing_due_at=None)
            )
            await self._history(session, code, "ended", {}, actor, now)
        return True

    async def _locked(self, session: AsyncSession, code: str) -> Row[Any] | None:
        query = select(enterprises).where(enterprises.c.credit_code == code)
        found: Row[Any] | None = (await session.execute(lock(query, session))).first()
        return found

    @staticmethod
    async def _history(
        session: AsyncSession,
        code: str,
        action: str,
        values: dict[str, Any],
        actor: str,
        now: dt.datetime,
    ) -> None:
        await session.execute(
            insert(enterprise_history).values(
                credit_code=code, action=action, details=values, actor=actor, at=now
            )
        )

    async def enterprise(self, code: str) -> Row[Any] | None:
        """An enterprise of the register (ended or not), or None."""
        async with self.sessionmaker() as session:
            return (
                await session.execute(select(enterprises).where(enterprises.c.credit_code == code))
            ).first()

    async def register_of(self, codes: Sequence[str]) -> dict[str, Row[Any]]:
        """The register's rows of the given codes, by code."""
        found: dict[str, Row[Any]] = {}
        async with self.sessionmaker() as session:
            for part in _chunks(codes):
                query = select(enterprises).where(enterprises.c.credit_code.in_(part))
                found.update((r.credit_code, r) for r in await session.execute(query))
        return found

    async def page_enterprises(
        self, where: list[ColumnElement[bool]], *, cursor: str | None, limit: int
    ) -> tuple[list[Row[Any]], str | None]:
        """A page of the register, newest registration first."""
        at, key = enterprises.c.registered_at, enterprises.c.credit_code
        return await self._page(select(enterprises).where(*where), at, key, cursor, limit)

    async def _page(
        self, query: Select[Any], at: Column[Any], key: Column[Any], cursor: str | None, limit: int
    ) -> tuple[list[Row[Any]], str | None]:
        """Keyset pagination on (at, key), newest first, with the cursor of the next page."""
        if cursor is not None:
            after_at, after = decode_cursor(cursor)
            query = query.where(or_(at < after_at, and_(at == after_at, key < after)))
        query = query.order_by(at.desc(), key.desc()).limit(limit + 1)
        async with self.sessionmaker() as session:
            rows = list(await session.execute(query))
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]._mapping
        return rows[:limit], encode_cursor(last[at.name], last[key.name])

    # --------------------------------------------------------------------- observations

    async def observations_of(self, codes: Sequence[str]) -> list[Row[Any]]:
        """The current observations of the given enterprises (every sender's), oldest first."""
        found: list[Row[Any]] = []
        async with self.sessionmaker() as session:
            for part in _chunks(codes):
                query = (
                    select(*_SERIES)
                    .where(observations.c.credit_code.in_(part), observations.c.is_current)
                    .order_by(observations.c.period, observations.c.received_at)
                )
                found.extend((await session.execute(query)).all())
        return found

    async def save_upload(
        self, upload: Upload, *, keys: Sequence[tuple[str, str]]
    ) -> list[Row[Any]]:
        """Store an upload whole, with its new alerts and their events, in one transaction;
        return every alert of the upload's (enterprise, period) pairs. An alert another upload
        raised meanwhile is kept, not raised again (one per enterprise, period, indicator and
        kind)."""
        for _ in range(3):
            try:
                async with self.sessionmaker.begin() as session:
                    await self._write(session, upload)
                    return await self._alerts_for(session, keys)
            except IntegrityError:
                upload = await self._without_raised(upload)
        raise Problem(
            409, "another upload of the same enterprises and months is being stored; retry"
        )

    async def _write(self, session: AsyncSession, upload: Upload) -> None:
        if upload.replaced:
            await session.execute(_RELEASE, [{"old_id": i} for i in upload.replaced])
        if upload.rows:
            await session.execute(insert(observations), upload.rows)
        if upload.alerts:
            await session.execute(insert(alerts), upload.alerts)
        for event in upload.events:
            self.outbox.add(
                session,
                topic=MonitoringAlert.topic,
                event_=event.to_event(subject=event.alert.id, key=_key(event)),
            )

    async def _without_raised(self, upload: Upload) -> Upload:
        """The upload without the alerts that exist by now."""
        codes = sorted({a["credit_code"] for a in upload.alerts})
        raised = await self.raised(codes)
        keep = [a for a in upload.alerts if _alert_key(a) not in raised]
        ids = {a["id"] for a in keep}
        events = [e for e in upload.events if e.alert.id in ids]
        return Upload(upload.rows, upload.replaced, keep, events)

    async def raised(self, codes: Sequence[str]) -> set[tuple[str, str, str, str]]:
        """The (code, period, indicator, kind) of every alert of the given enterprises."""
        found: set[tuple[str, str, str, str]] = set()
        async with self.sessionmaker() as session:
            for part in _chunks(codes):
                query = select(
                    alerts.c.credit_code, alerts.c.period, alerts.c.indicator, alerts.c.kind
                ).where(alerts.c.credit_code.in_(part))
                found.update((r[0], r[1], r[2], r[3]) for r in await session.execute(query))
        return found

    async def _alerts_for(
        self, session: AsyncSession, keys: Sequence[tuple[str, str]]
    ) -> list[Row[Any]]:
        wanted = set(keys)
        found: list[Row[Any]] = []
        codes = sorted({c for c, _ in wanted})
        for part in _chunks(codes):
            query = (
                select(alerts)
                .where(alerts.c.credit_code.in_(part), alerts.c.kind != "missing")
                .order_by(alerts.c.created_at, alerts.c.id)
            )
            found.extend(
                r for r in await session.execute(query) if (r.credit_code, r.period) in wanted
            )
        return found

    async def recent(self, code: str, *, limit: int = 24) -> tuple[list[Row[Any]], list[Row[Any]]]:
        """An enterprise's latest observations (current revisions) and alerts."""
        async with self.sessionmaker() as session:
            obs = await session.execute(
                select(observations)
                .where(observations.c.credit_code == code, observations.c.is_current)
                .order_by(observations.c.period.desc(), observations.c.received_at.desc())
                .limit(limit)
            )
            raised = await session.execute(
                select(alerts)
                .where(alerts.c.credit_code == code)
                .order_by(alerts.c.created_at.desc(), alerts.c.id.desc())
                .limit(limit)
            )
            return list(obs), list(raised)

    # --------------------------------------------------------------------------- alerts

    async def page_alerts(
        self, where: list[ColumnElement[bool]], *, cursor: str | None, limit: int
    ) -> tuple[list[Row[Any]], str | None]:
        """A page of alerts, newest first."""
        query = select(alerts).where(*where)
        return await self._page(query, alerts.c.created_at, alerts.c.id, cursor, limit)

    async def link_reports(self, session: AsyncSession, links: Mapping[str, str]) -> None:
        """Record the report intake filed for each alert (one executemany)."""
        if links:
            await session.execute(_LINK, [{"alert_id": a, "rid": r} for a, r in links.items()])

    # -------------------------------------------------------------------- missing timer

    async def claim_missing(
        self, session: AsyncSession, now: dt.datetime, *, limit: int
    ) -> list[Row[Any]]:
        """Claim monitored enterprises whose month's figures are due; replicas skip each
        other's (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
        query = (
            select(enterprises)
            .where(enterprises.c.ended_at.is_(None), enterprises.c.missing_due_at <= now)
            .order_by(enterprises.c.missing_due_at)
            .limit(limit)
        )
        return list(await session.execute(claim(query, session)))

    async def observed(
        self, session: AsyncSession, pairs: Sequence[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which (code, period) pairs have an observation (any revision, any sender)."""
        codes = sorted({c for c, _ in pairs})
        found: set[tuple[str, str]] = set()
        for part in _chunks(codes):
            query = (
                select(observations.c.credit_code, observations.c.period)
                .where(observations.c.credit_code.in_(part))
                .distinct()
            )
            found.update((r[0], r[1]) for r in await session.execute(query))
        return found & set(pairs)

    async def advance(
        self, session: AsyncSession, steps: Sequence[tuple[str, str, dt.datetime]]
    ) -> None:
        """Move each claimed enterprise's timer to its next month."""
        if steps:
            await session.execute(
                _ADVANCE, [{"code": c, "period": p, "due": d} for c, p, d in steps]
            )

    async def add_missing(
        self,
        session: AsyncSession,
        rows: Sequence[dict[str, Any]],
        events: Sequence[MonitoringAlert],
    ) -> None:
        """Insert `missing` alerts and queue their events in the claiming transaction."""
        await self._write(session, Upload([], [], list(rows), list(events)))


def _key(event: MonitoringAlert) -> str:
    a = event.alert
    return partition_key(a.jurisdiction, credit_code=a.credit_code, name=None, fallback=a.id)


def _alert_key(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (row["credit_code"], row["period"], row["indicator"], row["kind"])

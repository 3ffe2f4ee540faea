"""Where intake's rows live: sessions, the group commit, idempotency keys, webhook deliveries,
batch placements and the retention's erasure. The speed work is here (decisions 0007, 0008):
a handler hands over what to write, and cannot forget how it must be written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.access import ReadScope
from libs.common.contracts import ReportReceived, ReportRevealed
from libs.common.db import claim, insert_at_commit, list_holds
from libs.common.groupcommit import GroupCommit
from libs.common.outbox import Outbox
from libs.common.pagination import newest_first, next_cursor
from libs.common.problems import TYPE_BASE, Problem
from services.intake.domain import (
    HOTLINE_SENDER,
    MONITORING_SENDER,
    Placement,
    ReportRow,
    report_key,
)
from services.intake.tables import IdempotencyKey, Report, WebhookDelivery

_REPORTS = cast(Table, Report.__table__)
# A request can lose a race twice: on the report (source, source_ref), then on its second
# identity (Idempotency-Key or webhook-id) to a twin request; the third attempt reads both.
_ATTEMPTS = 3

# One UPDATE for a whole batch of placements (an executemany), compiled once.
_PLACE = (
    update(_REPORTS)
    .where(_REPORTS.c.id == bindparam("report_id"))
    .values(
        incident_id=bindparam("incident_id"),
        level=bindparam("level"),
        level_label=bindparam("level_label"),
        incident_status=bindparam("incident_status"),
        incident_routed_to=bindparam("routed_to"),
        incident_bodies=bindparam("bodies", type_=_REPORTS.c.incident_bodies.type),
        incident_closed_at=bindparam("closed_at", type_=_REPORTS.c.incident_closed_at.type),
    )
)


@dataclass(frozen=True)
class Identity:
    """What makes a submission the same as an earlier one: its (source, source_ref) from the
    same sender, or its `Idempotency-Key` (with the hash of the body it came with)."""

    sender: str
    source: str
    source_ref: str | None
    idempotency_key: str | None = None
    request_hash: str = ""


@dataclass(frozen=True)
class Accepted:
    """The outcome of a submission: the report and whether it is new."""

    report: ReportRow
    created: bool


@dataclass
class ReportStore:
    """Intake's tables, and the outbox its events leave by."""

    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Outbox
    committer: GroupCommit

    # ------------------------------------------------------------------------------ write

    async def accept(
        self, row: dict[str, Any], event: ReportReceived, *, identity: Identity, now: dt.datetime
    ) -> Accepted:
        """Store a new report and its event once per identity, or find the first one."""
        announced = event.to_event(subject=row["id"], key=report_key(row))

        def write(session: AsyncSession) -> None:
            insert_at_commit(session, Report, row)
            if identity.idempotency_key is not None:
                _remember_key(session, identity, row["id"], now)
            self.outbox.add(session, topic=ReportReceived.topic, event_=announced)

        # Most reports are new: the first attempt inserts without looking, committed together
        # with the other requests of the moment (decision 0007). A retry or a twin request then
        # breaks a unique constraint, and the next attempt, alone, finds the first report.
        for attempt in range(_ATTEMPTS):
            try:
                if attempt == 0:
                    await self.committer.write(write)
                    return Accepted(row, created=True)
                async with self.sessionmaker.begin() as session:
                    existing = await _find_existing(session, identity)
                    if existing is None:
                        write(session)
                    elif identity.idempotency_key is not None and not await _key_known(
                        session, identity
                    ):
                        _remember_key(session, identity, existing["id"], now)
                return Accepted(existing or row, created=existing is None)
            except IntegrityError:
                continue
        raise Problem(409, "a concurrent request with the same identity is in progress; retry")

    async def accept_order(
        self, row: dict[str, Any], event: ReportReceived, *, webhook_id: str, now: dt.datetime
    ) -> Accepted:
        """Store a work order's report once per `webhook-id` and per `order_no`."""
        announced = event.to_event(subject=row["id"], key=report_key(row))
        for _ in range(_ATTEMPTS):
            try:
                async with self.sessionmaker.begin() as session:
                    delivered = await session.scalar(
                        select(WebhookDelivery.report_id).where(
                            WebhookDelivery.webhook_id == webhook_id
                        )
                    )
                    if delivered is not None:
                        return Accepted(await _one(session, Report.id == delivered), False)
                    existing = await _read(
                        session,
                        Report.source == row["source"],
                        Report.sender == HOTLINE_SENDER,
                        Report.source_ref == row["source_ref"],
                    )
                    if existing is not None:
                        _remember_delivery(session, webhook_id, existing["id"], now)
                        return Accepted(existing, created=False)
                    insert_at_commit(session, Report, row)
                    _remember_delivery(session, webhook_id, row["id"], now)
                    self.outbox.add(session, topic=ReportReceived.topic, event_=announced)
                return Accepted(row, created=True)
            except IntegrityError:
                continue
        raise Problem(409, "a concurrent delivery of the same work order is in progress; retry")

    async def file_alerts(
        self, session: AsyncSession, filed: Sequence[tuple[dict[str, Any], ReportReceived]]
    ) -> int:
        """File the reports of monitoring alerts in the consumer's transaction, once per alert
        (`source_ref`): those already filed, and repeats within the batch, are skipped."""
        refs = [row["source_ref"] for row, _ in filed]
        known = set(
            await session.scalars(
                select(Report.source_ref).where(
                    Report.source == "monitoring",
                    Report.sender == MONITORING_SENDER,
                    Report.source_ref.in_(refs),
                )
            )
        )
        for row, event in filed:
            if row["source_ref"] in known:
                continue
            known.add(row["source_ref"])
            insert_at_commit(session, Report, row)
            announced = event.to_event(subject=row["id"], key=report_key(row))
            self.outbox.add(session, topic=ReportReceived.topic, event_=announced)
        return len(known)

    async def place(self, session: AsyncSession, placements: Mapping[str, Placement]) -> None:
        """Write what grading said of each report's incident: one executemany per batch."""
        if placements:
            await session.execute(
                _PLACE,
                [
                    {
                        "report_id": report_id,
                        "incident_id": p.incident_id,
                        "level": p.level,
                        "level_label": p.level_label,
                        "incident_status": p.status.value,
                        "routed_to": p.routed_to,
                        "bodies": list(p.bodies),
                        "closed_at": p.closed_at,
                    }
                    for report_id, p in placements.items()
                ],
            )

    async def record_reveal(self, revealed: ReportRevealed, *, key: str) -> None:
        """Commit the record of a reveal (its event), before the data is shown."""
        async with self.sessionmaker.begin() as session:
            self.outbox.add(
                session,
                topic=ReportRevealed.topic,
                event_=revealed.to_event(subject=revealed.report_id, key=key),
            )

    async def erase_personal_data(
        self, *, closed_before: dt.datetime, now: dt.datetime, batch: int = 500
    ) -> int:
        """Erase the personal data of up to `batch` reports whose incident closed before the
        time; return how many. Replicas share the work (rows claimed, skipping locked ones)."""
        async with self.sessionmaker.begin() as session:
            due = select(Report.id).where(
                Report.incident_closed_at <= closed_before,
                Report.personal_data_erased_at.is_(None),
            )
            ids = list((await session.execute(claim(due.limit(batch), session))).scalars())
            if ids:
                await session.execute(
                    update(_REPORTS)
                    .where(_REPORTS.c.id.in_(ids))
                    .values(reporter_sealed=None, extra=None, personal_data_erased_at=now)
                )
        return len(ids)

    # ------------------------------------------------------------------------------- read

    async def get(self, report_id: str) -> ReportRow | None:
        """The report, or None."""
        async with self.sessionmaker() as session:
            return await _read(session, Report.id == report_id)

    async def page(
        self,
        scope: ReadScope,
        *,
        equal: Mapping[str, str | None],
        received_from: dt.datetime | None,
        received_to: dt.datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[ReportRow], str | None]:
        """A page of the reports the scope reads, newest first, and the next page's cursor."""
        query = select(_REPORTS).where(*readable(scope))
        for name, value in equal.items():
            if value is not None:
                query = query.where(_REPORTS.c[name] == value)
        if received_from is not None:
            query = query.where(Report.received_at >= received_from)
        if received_to is not None:
            query = query.where(Report.received_at < received_to)
        query = newest_first(query, Report.received_at, Report.id, cursor=cursor, limit=limit)
        async with self.sessionmaker() as session:
            rows = (await session.execute(query)).all()
        page = [cast(ReportRow, r._mapping) for r in rows[:limit]]
        return page, next_cursor(rows, limit, Report.received_at)


def readable(scope: ReadScope) -> list[ColumnElement[bool]]:
    """The access rule's read scope as SQL conditions on reports."""
    if scope.everything:
        return []
    if scope.own_key is not None:
        return [Report.submitted_by == scope.own_key]
    where: list[ColumnElement[bool]] = []
    if scope.jurisdiction is not None:
        where.append(Report.jurisdiction == scope.jurisdiction)
    sent = None if scope.body_id is None else list_holds(_REPORTS.c.incident_bodies, scope.body_id)
    if scope.region is not None:
        here = or_(
            Report.region == scope.region, list_holds(_REPORTS.c.affected_regions, scope.region)
        )
        where.append(here if sent is None else or_(here, sent))
    elif sent is not None:
        where.append(sent)
    return where


async def _read(session: AsyncSession, *where: ColumnElement[bool]) -> ReportRow | None:
    found = (await session.execute(select(_REPORTS).where(*where))).first()
    return None if found is None else cast(ReportRow, found._mapping)


async def _one(session: AsyncSession, *where: ColumnElement[bool]) -> ReportRow:
    found = await _read(session, *where)
    assert found is not None, "a delivery always names a stored report"
    return found


async def _find_existing(session: AsyncSession, identity: Identity) -> ReportRow | None:
    if identity.idempotency_key is not None:
        remembered = (
            await session.execute(
                select(IdempotencyKey.request_hash, IdempotencyKey.report_id).where(
                    IdempotencyKey.api_key_id == identity.sender,
                    IdempotencyKey.key == identity.idempotency_key,
                )
            )
        ).first()
        if remembered is not None:
            if remembered.request_hash != identity.request_hash:
                raise Problem(
                    409,
                    "this Idempotency-Key was used with a different request body",
                    type_=TYPE_BASE + "idempotency-key-reused",
                )
            return await _read(session, Report.id == remembered.report_id)
    if identity.source_ref is not None:
        return await _read(
            session,
            Report.source == identity.source,
            Report.sender == identity.sender,
            Report.source_ref == identity.source_ref,
        )
    return None


async def _key_known(session: AsyncSession, identity: Identity) -> bool:
    found = await session.scalar(
        select(IdempotencyKey.key).where(
            IdempotencyKey.api_key_id == identity.sender,
            IdempotencyKey.key == identity.idempotency_key,
        )
    )
    return found is not None


def _remember_key(
    session: AsyncSession, identity: Identity, report_id: str, now: dt.datetime
) -> None:
    insert_at_commit(
        session,
        IdempotencyKey,
        {
            "api_key_id": identity.sender,
            "key": identity.idempotency_key,
            "request_hash": identity.request_hash,
            "report_id": report_id,
            "created_at": now,
        },
    )


def _remember_delivery(
    session: AsyncSession, webhook_id: str, report_id: str, now: dt.datetime
) -> None:
    insert_at_commit(
        session,
        WebhookDelivery,
        {"webhook_id": webhook_id, "report_id": report_id, "received_at": now},
    )

"""Intake's reads and writes: accept a report once, whatever channel and however often sent."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.access import Item, may_read
from libs.common.auth import Principal, Role
from libs.common.db import insert_at_commit
from libs.common.enterprise import normalise_enterprise_name
from libs.common.events import REPORT_RECEIVED, new_event
from libs.common.groupcommit import GroupCommit
from libs.common.jurisdictions import Registry
from libs.common.metrics import REPORTS_ACCEPTED
from libs.common.outbox import Outbox
from libs.common.pagination import newest_first, next_cursor
from libs.common.privacy import Cipher, mask_name, mask_phone, redact
from libs.common.problems import TYPE_BASE, Problem
from services.intake.domain import map_hotline_category
from services.intake.schemas import (
    EnterpriseOut,
    HotlineOrder,
    PersonOut,
    ReportIn,
    ReportOut,
)
from services.intake.tables import IdempotencyKey, Report, WebhookDelivery

SERVICE = "intake"
HOTLINE_SENDER = "hotline"
_EXTRA_CONTEXT = "intake_reports.extra"
_SEALED_CONTEXT = "intake_reports.reporter"
# A report dated this far ahead of our clock is a mistake, not clock skew.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# A request can lose a race twice: on the report (source, source_ref), then on its second
# identity (Idempotency-Key or webhook-id) to a twin request; the third attempt reads both.
_ATTEMPTS = 3

ReportRow = Mapping[str, Any]
"""A row of `intake_reports`, by column name. Intake writes and reads its rows with SQLAlchemy
Core: accepting a report is the hottest path there is, and an ORM object per report would
cost more than the rest of the write."""

_REPORTS = cast(Table, Report.__table__)


@dataclass(frozen=True)
class Accepted:
    """The outcome of submitting a report: the report and whether it is new."""

    report: ReportRow
    created: bool


@dataclass
class Intake:
    """The intake service's operations over its tables."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    cipher: Cipher
    outbox: Outbox
    committer: GroupCommit

    # ------------------------------------------------------------------------------- write

    async def submit(
        self,
        report: ReportIn,
        *,
        principal: Principal,
        idempotency_key: str | None,
        now: dt.datetime,
    ) -> Accepted:
        """Accept a report from the REST API, once."""
        self._check_places(
            report.jurisdiction, report.region, report.affected_regions, region_loc="region"
        )
        if report.occurred_at > now + _FUTURE_TOLERANCE:
            raise _invalid(["body", "occurred_at"], "occurred_at is in the future")
        row = self._new_report(report, channel="rest", now=now, submitted_by=principal.key_id)
        # Only a key needs the hash: it tells a retry from another request under the same key.
        request_hash = _request_hash(report) if idempotency_key is not None else ""

        def write(session: AsyncSession) -> None:
            insert_at_commit(session, Report, row)
            if idempotency_key is not None:
                _remember_key(session, principal, idempotency_key, request_hash, row["id"], now)
            self._announce(session, row)

        # Most reports are new: the first attempt inserts without looking, committed together
        # with the other requests of the moment. A retry or a twin request then breaks a unique
        # constraint, and the next attempt, alone, finds the first report.
        for attempt in range(_ATTEMPTS):
            try:
                if attempt == 0:
                    await self.committer.write(write)
                else:
                    async with self.sessionmaker.begin() as session:
                        existing = await self._find_existing(
                            session,
                            principal=principal,
                            idempotency_key=idempotency_key,
                            request_hash=request_hash,
                            source=report.source,
                            source_ref=report.source_ref,
                        )
                        if existing is not None:
                            if idempotency_key is not None and not await _key_known(
                                session, principal, idempotency_key
                            ):
                                _remember_key(
                                    session,
                                    principal,
                                    idempotency_key,
                                    request_hash,
                                    existing["id"],
                                    now,
                                )
                            return Accepted(existing, created=False)
                        write(session)
                REPORTS_ACCEPTED.labels("rest", row["source"]).inc()
                return Accepted(row, created=True)
            except IntegrityError:
                continue
        raise Problem(409, "a concurrent request with the same identity is in progress; retry")

    async def receive_hotline(
        self, order: HotlineOrder, *, webhook_id: str, now: dt.datetime
    ) -> Accepted:
        """Accept a hotline work order, once per `webhook-id` and per `order_no`."""
        self._check_places(order.jurisdiction, order.area, None, region_loc="area")
        if order.received_at > now + _FUTURE_TOLERANCE:
            raise _invalid(["body", "received_at"], "received_at is in the future")
        source = f"hotline_{order.hotline}"
        for _ in range(_ATTEMPTS):
            try:
                async with self.sessionmaker.begin() as session:
                    delivered = await session.scalar(
                        select(WebhookDelivery.report_id).where(
                            WebhookDelivery.webhook_id == webhook_id
                        )
                    )
                    if delivered is not None:
                        existing = await _read_report(session, Report.id == delivered)
                        assert existing is not None
                        return Accepted(existing, created=False)
                    existing = await _read_report(
                        session,
                        Report.source == source,
                        Report.sender == HOTLINE_SENDER,
                        Report.source_ref == order.order_no,
                    )
                    if existing is not None:
                        _remember_delivery(session, webhook_id, existing["id"], now)
                        return Accepted(existing, created=False)
                    row = self._report_from_order(order, source=source, now=now)
                    insert_at_commit(session, Report, row)
                    _remember_delivery(session, webhook_id, row["id"], now)
                    self._announce(session, row)
                REPORTS_ACCEPTED.labels("webhook", source).inc()
                return Accepted(row, created=True)
            except IntegrityError:
                continue
        raise Problem(409, "a concurrent delivery of the same work order is in progress; retry")

    async def place_in_incidents(self, session: AsyncSession, placements: dict[str, str]) -> None:
        """Record which incident grading placed reports in: report id -> incident id."""
        if placements:
            await session.execute(  # one executemany
                update(_REPORTS)
                .where(_REPORTS.c.id == bindparam("report_id"))
                .values(incident_id=bindparam("incident_id")),
                [{"report_id": r, "incident_id": i} for r, i in placements.items()],
            )

    # -------------------------------------------------------------------------------- read

    async def get(self, report_id: str, *, principal: Principal) -> ReportRow:
        """Return a report the caller may see, or 404."""
        async with self.sessionmaker() as session:
            row = await _read_report(session, Report.id == report_id)
        if row is None or not _may_see(principal, row):
            raise Problem(404, f"no report {report_id}")
        return row

    async def page(
        self,
        *,
        principal: Principal,
        limit: int,
        cursor: str | None,
        jurisdiction: str | None = None,
        region: str | None = None,
        source: str | None = None,
        category: str | None = None,
        incident_id: str | None = None,
        received_from: dt.datetime | None = None,
        received_to: dt.datetime | None = None,
    ) -> tuple[list[ReportRow], str | None]:
        """Return a page of reports, newest first, and the cursor of the next page."""
        query = select(_REPORTS)
        if principal.role is not Role.ADMIN and principal.jurisdiction is not None:
            if jurisdiction not in (None, principal.jurisdiction):
                raise Problem(403, f"this key may not read jurisdiction {jurisdiction}")
            jurisdiction = principal.jurisdiction
        if principal.role is Role.REPORTER:
            query = query.where(Report.submitted_by == principal.key_id)
        filters: dict[str, Any] = {
            "jurisdiction": jurisdiction,
            "region": region,
            "source": source,
            "category": category,
            "incident_id": incident_id,
        }
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(Report, name) == value)
        if received_from is not None:
            query = query.where(Report.received_at >= received_from)
        if received_to is not None:
            query = query.where(Report.received_at < received_to)
        query = newest_first(query, Report.received_at, Report.id, cursor=cursor, limit=limit)
        async with self.sessionmaker() as session:
            rows = (await session.execute(query)).all()
        page = [cast(ReportRow, r._mapping) for r in rows[:limit]]
        return page, next_cursor(rows, limit, Report.received_at)

    def to_out(self, row: ReportRow) -> ReportOut:
        """Render a report for a response, personal data masked."""
        reporter = None
        if row["reporter_sealed"] is not None:
            person = orjson.loads(
                self.cipher.decrypt(row["reporter_sealed"], context=_SEALED_CONTEXT)
            )
            reporter = PersonOut(
                name=mask_name(person["name"]) if person.get("name") else None,
                phone=mask_phone(person["phone"]) if person.get("phone") else None,
            )
        return ReportOut(
            id=row["id"],
            channel=row["channel"],
            source=row["source"],
            source_ref=row["source_ref"],
            jurisdiction=row["jurisdiction"],
            region=row["region"],
            affected_regions=row["affected_regions"],
            occurred_at=row["occurred_at"],
            received_at=row["received_at"],
            enterprise=EnterpriseOut(
                name=row["enterprise_name"],
                credit_code=row["enterprise_credit_code"],
                industry=row["enterprise_industry"],
            ),
            category=row["category"],
            category_text=row["category_text"],
            workers_involved=row["workers_involved"],
            amount_yuan=row["amount_yuan"],
            terminations=row["terminations"],
            collective_action=row["collective_action"],
            extreme_individual=row["extreme_individual"],
            potential_major_impact=row["potential_major_impact"],
            summary=_redacted(row["summary"]),
            demands=_redacted(row["demands"]),
            location=_redacted(row["location"]),
            reporter=reporter,
            incident_id=row["incident_id"],
        )

    # ----------------------------------------------------------------------------- helpers

    def _check_places(
        self, jurisdiction: str, region: str, affected: list[str] | None, *, region_loc: str
    ) -> None:
        found = self.registry.get(jurisdiction)
        if found is None:
            raise _invalid(
                ["body", "jurisdiction"],
                f"unknown jurisdiction {jurisdiction!r}; known: {', '.join(self.registry.ids())}",
            )
        errors: list[dict[str, Any]] = []
        if region not in found.region_ids:
            errors.append(
                {
                    "loc": ["body", region_loc],
                    "msg": f"{region!r} is not a region of {jurisdiction}",
                    "type": "unknown_region",
                }
            )
        for i, other in enumerate(affected or []):
            if other not in found.region_ids:
                errors.append(
                    {
                        "loc": ["body", "affected_regions", i],
                        "msg": f"{other!r} is not a region of {jurisdiction}",
                        "type": "unknown_region",
                    }
                )
        if errors:
            raise Problem(
                422,
                f"{errors[0]['loc'][1]}: {errors[0]['msg']}",
                type_=TYPE_BASE + "validation-error",
                title="Validation failed",
                errors=errors,
            )

    async def _find_existing(
        self,
        session: AsyncSession,
        *,
        principal: Principal,
        idempotency_key: str | None,
        request_hash: str,
        source: str,
        source_ref: str | None,
    ) -> ReportRow | None:
        if idempotency_key is not None:
            remembered = (
                await session.execute(
                    select(IdempotencyKey.request_hash, IdempotencyKey.report_id).where(
                        IdempotencyKey.api_key_id == principal.key_id,
                        IdempotencyKey.key == idempotency_key,
                    )
                )
            ).first()
            if remembered is not None:
                if remembered.request_hash != request_hash:
                    raise Problem(
                        409,
                        "this Idempotency-Key was used with a different request body",
                        type_=TYPE_BASE + "idempotency-key-reused",
                    )
                return await _read_report(session, Report.id == remembered.report_id)
        if source_ref is not None:
            return await _read_report(
                session,
                Report.source == source,
                Report.sender == principal.key_id,
                Report.source_ref == source_ref,
            )
        return None

    def _seal(self, name: str | None, phone: str | None) -> str | None:
        if not name and not phone:
            return None
        return self.cipher.encrypt(
            orjson.dumps({"name": name, "phone": phone}).decode(), context=_SEALED_CONTEXT
        )

    def _new_report(
        self, report: ReportIn, *, channel: str, now: dt.datetime, submitted_by: str | None
    ) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "channel": channel,
            "source": report.source,
            "source_ref": report.source_ref,
            "sender": submitted_by or "",
            "jurisdiction": report.jurisdiction,
            "region": report.region,
            "affected_regions": list(dict.fromkeys(report.affected_regions or [report.region])),
            "occurred_at": report.occurred_at,
            "received_at": now,
            "enterprise_name": report.enterprise.name,
            "enterprise_credit_code": report.enterprise.credit_code,
            "enterprise_industry": report.enterprise.industry,
            "category": report.category,
            "category_text": None,
            "workers_involved": report.workers_involved,
            "amount_yuan": report.amount_yuan,
            "terminations": report.terminations,
            "collective_action": report.collective_action,
            "extreme_individual": report.extreme_individual,
            "potential_major_impact": report.potential_major_impact,
            "summary": report.summary,
            "demands": report.demands,
            "location": report.location,
            "reporter_sealed": self._seal(
                report.reporter.name if report.reporter else None,
                report.reporter.phone if report.reporter else None,
            ),
            "submitted_by": submitted_by,
            "incident_id": None,
            "extra": None,
        }

    def _report_from_order(
        self, order: HotlineOrder, *, source: str, now: dt.datetime
    ) -> dict[str, Any]:
        category = map_hotline_category(order.category or "") or "other"
        # Fields of the platform's own are kept, sealed: they may well hold personal data.
        extra = None
        if order.model_extra:
            sealed = self.cipher.encrypt(
                orjson.dumps(order.model_extra).decode(), context=_EXTRA_CONTEXT
            )
            extra = {"sealed": sealed}
        return {
            "id": str(uuid.uuid4()),
            "channel": "webhook",
            "source": source,
            "source_ref": order.order_no,
            "sender": HOTLINE_SENDER,
            "jurisdiction": order.jurisdiction,
            "region": order.area,
            "affected_regions": [order.area],
            "occurred_at": order.received_at,
            "received_at": now,
            "enterprise_name": order.enterprise_name,
            "enterprise_credit_code": order.enterprise_credit_code,
            "enterprise_industry": None,
            "category": category,
            "category_text": order.category,
            "workers_involved": order.workers_involved,
            "amount_yuan": order.amount_yuan,
            "terminations": order.terminations,
            "collective_action": order.collective_action,
            "extreme_individual": False,
            "potential_major_impact": False,
            "summary": order.content,
            "demands": None,
            "location": None,
            "reporter_sealed": self._seal(
                order.caller.name if order.caller else None,
                order.caller.phone if order.caller else None,
            ),
            "submitted_by": None,
            "incident_id": None,
            "extra": extra,
        }

    def _announce(self, session: AsyncSession, row: ReportRow) -> None:
        """Write `report.received` in the same transaction as the report."""
        self.outbox.add(
            session,
            topic=REPORT_RECEIVED,
            event_=new_event(
                service=SERVICE,
                type_=REPORT_RECEIVED,
                subject=row["id"],
                key=enterprise_key(row),
                data={"report": report_event_data(row)},
            ),
        )


async def _read_report(session: AsyncSession, *where: ColumnElement[bool]) -> ReportRow | None:
    """The one report that matches, or None."""
    found = (await session.execute(select(_REPORTS).where(*where))).first()
    return None if found is None else cast(ReportRow, found._mapping)


async def _key_known(session: AsyncSession, principal: Principal, key: str) -> bool:
    found = await session.scalar(
        select(IdempotencyKey.key).where(
            IdempotencyKey.api_key_id == principal.key_id, IdempotencyKey.key == key
        )
    )
    return found is not None


def _remember_key(
    session: AsyncSession,
    principal: Principal,
    key: str,
    request_hash: str,
    report_id: str,
    now: dt.datetime,
) -> None:
    insert_at_commit(
        session,
        IdempotencyKey,
        {
            "api_key_id": principal.key_id,
            "key": key,
            "request_hash": request_hash,
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


def _request_hash(report: ReportIn) -> str:
    """A fingerprint of the request, whatever the order of its keys."""
    body = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def enterprise_key(row: ReportRow) -> str:
    """The partition key: one enterprise's events, in one jurisdiction, stay in order."""
    who = row["enterprise_credit_code"] or normalise_enterprise_name(row["enterprise_name"] or "")
    return f"{row['jurisdiction']}:{who or row['id']}"


def report_event_data(row: ReportRow) -> dict[str, Any]:
    """The report as `report.received` carries it: every figure, no personal data."""
    return {
        "id": row["id"],
        "channel": row["channel"],
        "source": row["source"],
        "source_ref": row["source_ref"],
        "jurisdiction": row["jurisdiction"],
        "region": row["region"],
        "affected_regions": row["affected_regions"],
        "occurred_at": row["occurred_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
        "enterprise": {
            "name": row["enterprise_name"],
            "credit_code": row["enterprise_credit_code"],
            "industry": row["enterprise_industry"],
        },
        "category": row["category"],
        "category_text": row["category_text"],
        "workers_involved": row["workers_involved"],
        "amount_yuan": str(Decimal(row["amount_yuan"])),
        "terminations": row["terminations"],
        "collective_action": row["collective_action"],
        "extreme_individual": row["extreme_individual"],
        "potential_major_impact": row["potential_major_impact"],
        "summary": _redacted(row["summary"]),
        "demands": _redacted(row["demands"]),
        "location": _redacted(row["location"]),
    }


def _may_see(principal: Principal, row: ReportRow) -> bool:
    if principal.role is Role.REPORTER:
        return bool(row["submitted_by"] == principal.key_id)
    return may_read(
        principal,
        Item(
            row["jurisdiction"],
            regions=[row["region"], *row["affected_regions"]],
            submitted_by=row["submitted_by"],
        ),
    )


def _redacted(text: str | None) -> str | None:
    return redact(text) if text else text


def _invalid(loc: list[str], msg: str) -> Problem:
    return Problem(
        422,
        f"{loc[-1]}: {msg}",
        type_=TYPE_BASE + "validation-error",
        title="Validation failed",
        errors=[{"loc": loc, "msg": msg, "type": "value_error"}],
    )

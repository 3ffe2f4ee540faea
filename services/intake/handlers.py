"""Intake's operations: each gets from the store, applies the rules, writes through the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.access import ensure_jurisdiction, readable_or_403, scope_of
from libs.common.auth import Principal
from libs.common.contracts import IncidentPlacement, MonitoringAlert
from libs.common.jurisdictions import Registry
from libs.common.metrics import REPORTS_ACCEPTED
from libs.common.privacy import Cipher
from libs.common.problems import TYPE_BASE, Problem
from services.intake import domain, render
from services.intake.domain import AreaIndex, ReportRow
from services.intake.schemas import HotlineOrder, ReportIn, RevealedReport
from services.intake.store import Accepted, Identity, ReportStore

log = logging.getLogger(__name__)

SERVICE = "intake"


@dataclass
class Intake:
    """Accept every report once, whatever channel and however often sent; show it to those
    who may read it; learn its incident from grading; call its reporter back."""

    store: ReportStore
    registry: Registry
    cipher: Cipher
    areas: AreaIndex
    drill: bool = False

    async def submit(
        self, body: ReportIn, *, principal: Principal, idempotency_key: str | None, now: dt.datetime
    ) -> Accepted:
        """Accept a report from the REST API, once."""
        self._check_places(body.jurisdiction, body.region, body.affected_regions)
        _not_in_future(body.occurred_at, now, "occurred_at")
        sealed = render.seal_person(
            self.cipher,
            *((body.reporter.name, body.reporter.phone) if body.reporter else (None, None)),
        )
        row = domain.report_from_rest(body, sender=principal.key_id, now=now, sealed_person=sealed)
        identity = Identity(
            sender=principal.key_id,
            source=body.source,
            source_ref=body.source_ref,
            idempotency_key=idempotency_key,
            # Only a key needs the hash: it tells a retry from another request under the key.
            request_hash="" if idempotency_key is None else _request_hash(body),
        )
        event = render.report_received(row, drill=self.drill)
        row = render.seal_texts(self.cipher, row)
        accepted = await self.store.accept(row, event, identity=identity, now=now)
        if accepted.created:
            REPORTS_ACCEPTED.labels("rest", row["source"]).inc()
        return accepted

    async def receive_hotline(
        self, order: HotlineOrder, *, webhook_id: str, now: dt.datetime
    ) -> Accepted:
        """Accept a hotline work order, once per `webhook-id` and per `order_no`."""
        region = self._area(order.jurisdiction, order.area)
        _not_in_future(order.received_at, now, "received_at")
        caller = (order.caller.name, order.caller.phone) if order.caller else (None, None)
        row = domain.report_from_order(
            order,
            region=region,
            now=now,
            sealed_person=render.seal_person(self.cipher, *caller),
            sealed_extra=render.seal_extra(self.cipher, order.model_extra),
        )
        event = render.report_received(row, drill=self.drill)
        row = render.seal_texts(self.cipher, row)
        accepted = await self.store.accept_order(row, event, webhook_id=webhook_id, now=now)
        if accepted.created:
            REPORTS_ACCEPTED.labels("webhook", row["source"]).inc()
        return accepted

    async def on_alerts(
        self, session: AsyncSession, alerts: Sequence[MonitoringAlert], *, now: dt.datetime
    ) -> None:
        """File one report per threshold or anomaly alert, once whatever is redelivered
        (intake alone writes reports; monitoring learns the report's id from its event)."""
        filed = []
        for alert in alerts:
            row = domain.report_from_alert(alert, now=now)
            if row is not None:
                filed.append(
                    (row, render.report_received(row, drill=self.drill or alert.alert.drill))
                )
        if filed:
            await self.store.file_alerts(session, filed)

    async def on_incidents(
        self, session: AsyncSession, incidents: Sequence[IncidentPlacement]
    ) -> None:
        """Learn from grading's events what became of each report (a batch at once)."""
        await self.store.place(session, domain.placements(incidents))

    async def get(self, report_id: str, *, principal: Principal) -> ReportRow:
        """A report the caller may read: 404 if there is none, 403 if it may not."""
        row = await self.store.get(report_id)
        readable_or_403(
            principal, None if row is None else domain.Report.of(row).item(), f"report {report_id}"
        )
        assert row is not None
        return row

    async def page(
        self,
        *,
        principal: Principal,
        limit: int,
        cursor: str | None,
        filters: dict[str, Any],
        received_from: dt.datetime | None = None,
        received_to: dt.datetime | None = None,
    ) -> tuple[list[ReportRow], str | None]:
        """A page of the reports the caller may read, newest first, and the next cursor."""
        filters["jurisdiction"] = ensure_jurisdiction(principal, filters.get("jurisdiction"))
        return await self.store.page(
            scope_of(principal),
            equal=filters,
            received_from=received_from,
            received_to=received_to,
            cursor=cursor,
            limit=limit,
        )

    async def reveal(
        self,
        report_id: str,
        *,
        principal: Principal,
        reason: str,
        now: dt.datetime,
        record: bool = True,
    ) -> RevealedReport:
        """Show a report's personal data in clear to call the caller back, recorded first
        (`record=False`: the retry of a reveal already recorded, under its Idempotency-Key)."""
        row = await self.store.get(report_id)
        if row is None:
            raise Problem(404, f"no report {report_id}")
        try:
            revealed = domain.Report.of(row).reveal(principal, reason=reason, at=now)
        except domain.MayNotReveal as refused:
            raise Problem(403, str(refused)) from refused
        except domain.NotRoutedYet as early:
            raise Problem(
                409,
                f"{early}: a responder of the body it is routed to may call back once it is "
                "graded; an admin may now",
                type_=TYPE_BASE + "not-routed-yet",
            ) from early
        if record:
            await self.store.record_reveal(revealed, key=domain.report_key(row))
        # Who read it, and why: never what they read.
        log.info(
            "personal data revealed" if record else "personal data shown again (a retry)",
            extra={"report_id": report_id, "by": revealed.by, "reason": revealed.reason},
        )
        return render.revealed_report(row, self.cipher)

    async def erase_expired(self, *, retention_days: float, now: dt.datetime) -> int:
        """Erase one batch of personal data past its retention; return how many reports."""
        return await self.store.erase_personal_data(
            closed_before=domain.erase_before(now, retention_days), now=now
        )

    # ----------------------------------------------------------------------------- checks

    def _area(self, jurisdiction: str, area: str) -> str:
        """The region a hotline `area` names (id or Chinese name), or 422 naming `area`."""
        self._jurisdiction(jurisdiction)
        region = self.areas.region(jurisdiction, area)
        if region is None:
            raise _invalid(
                ["body", "area"],
                f"{area!r} is neither a region id nor a region name of {jurisdiction}",
            )
        return region

    def _jurisdiction(self, jurisdiction: str) -> frozenset[str]:
        found = self.registry.get(jurisdiction)
        if found is None:
            known = ", ".join(self.registry.ids())
            raise _invalid(
                ["body", "jurisdiction"], f"unknown jurisdiction {jurisdiction!r}; known: {known}"
            )
        return found.region_ids

    def _check_places(self, jurisdiction: str, region: str, affected: list[str] | None) -> None:
        regions = self._jurisdiction(jurisdiction)
        errors: list[dict[str, Any]] = [
            {
                "loc": loc,
                "msg": f"{value!r} is not a region of {jurisdiction}",
                "type": "unknown_region",
            }
            for loc, value in [
                (["body", "region"], region),
                *((["body", "affected_regions", i], r) for i, r in enumerate(affected or [])),
            ]
            if value not in regions
        ]
        if errors:
            raise Problem(
                422,
                f"{errors[0]['loc'][1]}: {errors[0]['msg']}",
                type_=TYPE_BASE + "validation-error",
                title="Validation failed",
                errors=errors,
            )


def _not_in_future(at: dt.datetime, now: dt.datetime, field: str) -> None:
    if at > now + domain.FUTURE_TOLERANCE:
        raise _invalid(["body", field], f"{field} is in the future")


def _request_hash(report: ReportIn) -> str:
    """A fingerprint of the request, whatever the order of its keys."""
    body = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def _invalid(loc: list[Any], msg: str) -> Problem:
    return Problem(
        422,
        f"{loc[-1]}: {msg}",
        type_=TYPE_BASE + "validation-error",
        title="Validation failed",
        errors=[{"loc": loc, "msg": msg, "type": "value_error"}],
    )

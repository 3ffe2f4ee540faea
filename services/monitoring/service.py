"""Monitoring's operations: each reads through the store, applies the rules, writes through
the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import Principal, Role
from libs.common.contracts import MonitoringAlert, ReportReceived
from libs.common.jurisdictions import Jurisdiction, Registry
from libs.common.problems import Problem
from services.monitoring import domain, uploads, views
from services.monitoring.evaluate import alert_row, evaluate
from services.monitoring.policy import MonitoringPolicy
from services.monitoring.rules import Finding
from services.monitoring.schemas import Accepted, EnterpriseDetail, EnterpriseIn, EnterpriseOut
from services.monitoring.store import MonitoringStore, Upload
from services.monitoring.tables import alerts, enterprises

SERVICE = "monitoring"


@dataclass
class Monitoring:
    """Keep the register, take the departments' monthly figures, raise alerts once."""

    store: MonitoringStore
    registry: Registry
    policies: dict[str, MonitoringPolicy]
    drill: bool = False

    def _place(self, jurisdiction: str) -> Jurisdiction:
        found = self.registry.get(jurisdiction)
        assert found is not None
        return found

    def tz(self, jurisdiction: str) -> ZoneInfo:
        """The jurisdiction's time zone."""
        return ZoneInfo(self._place(jurisdiction).timezone)

    # ------------------------------------------------------------------------- register

    async def put_enterprise(
        self, code: str, body: EnterpriseIn, *, principal: Principal, now: dt.datetime
    ) -> tuple[bool, EnterpriseOut]:
        """Register an enterprise or change its entry (analyst of its jurisdiction, admin)."""
        place = self.registry.get(body.jurisdiction)
        if place is None:
            raise _invalid("jurisdiction", f"unknown jurisdiction {body.jurisdiction!r}")
        if body.region not in place.region_ids:
            raise _invalid("region", f"{body.region!r} is not a region of {place.id}")
        keeps(principal, body.jurisdiction)
        existing = await self.store.enterprise(code)
        if existing is not None and existing.ended_at is None:
            keeps(principal, existing.jurisdiction)  # moving it needs both jurisdictions
        tz = self.tz(body.jurisdiction)
        first = domain.first_watched(now, tz)
        due = domain.missing_due(first, tz=tz, day=self.policies[body.jurisdiction].missing_day)
        created, row = await self.store.put_enterprise(
            code,
            body.model_dump(),
            actor=principal.actor,
            now=now,
            first_period=first,
            first_due=due,
        )
        return created, views.enterprise_out(row)

    async def end_enterprise(self, code: str, *, principal: Principal, now: dt.datetime) -> None:
        """End an enterprise's monitoring; its entry and history stay."""
        row = await self.store.enterprise(code)
        if row is None or row.ended_at is not None:
            raise Problem(404, f"enterprise {code} is not monitored")
        keeps(principal, row.jurisdiction)
        if not await self.store.end_enterprise(code, actor=principal.actor, now=now):
            raise Problem(404, f"enterprise {code} is not monitored")

    async def enterprise(self, code: str, *, principal: Principal) -> EnterpriseDetail:
        """An enterprise with its recent observations and alerts."""
        row = await self.store.enterprise(code)
        if row is None:
            raise Problem(404, f"no monitored enterprise {code}")
        reads(principal, row.jurisdiction)
        obs, raised = await self.store.recent(code)
        return views.detail(row, obs, raised)

    async def page_enterprises(
        self,
        *,
        principal: Principal,
        jurisdiction: str | None,
        region: str | None,
        ended: bool,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[EnterpriseOut], str | None]:
        """A page of the register the caller may read."""
        jurisdiction = reads(principal, jurisdiction)
        where: list[ColumnElement[bool]] = []
        if jurisdiction is not None:
            where.append(enterprises.c.jurisdiction == jurisdiction)
        if region is not None:
            where.append(enterprises.c.region == region)
        if not ended:
            where.append(enterprises.c.ended_at.is_(None))
        rows, after = await self.store.page_enterprises(where, cursor=cursor, limit=limit)
        return [views.enterprise_out(r) for r in rows], after

    async def page_alerts(
        self,
        *,
        principal: Principal,
        filters: dict[str, str | None],
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Any], str | None]:
        """A page of alerts the caller may read, newest first."""
        filters["jurisdiction"] = reads(principal, filters.get("jurisdiction"))
        where = [alerts.c[k] == v for k, v in filters.items() if v is not None]
        rows, after = await self.store.page_alerts(where, cursor=cursor, limit=limit)
        return [views.alert_out(r) for r in rows], after

    # ----------------------------------------------------------------------- the upload

    async def upload(
        self,
        raw: Sequence[tuple[tuple[Any, ...], int, dict[str, Any]]],
        *,
        principal: Principal,
        now: dt.datetime,
    ) -> Accepted:
        """Store a department's figures whole (or nothing, 422 naming every bad row) and
        raise each new alert once."""
        rows, errors = uploads.validate(raw)
        codes = sorted({r.obs.credit_code for r in rows})
        register = await self.store.register_of(codes)
        self._check(rows, errors, register, principal, now)
        stored = await self.store.observations_of(codes)
        raised = await self.store.raised(codes)
        found = evaluate(
            [r.obs for r in rows],
            stored=stored,
            register=register,
            policies=self.policies,
            sender=principal.key_id,
            raised=raised,
            now=now,
            drill=self.drill,
        )
        upload = Upload(found.rows, found.replaced, found.alerts, found.events)
        keys = sorted({(r.obs.credit_code, r.obs.period) for r in rows})
        shown = await self.store.save_upload(upload, keys=keys)
        return Accepted(accepted=len(rows), alerts=[views.alert_out(a) for a in shown])

    def _check(
        self,
        rows: Sequence[uploads.Row],
        errors: list[dict[str, Any]],
        register: dict[str, Row[Any]],
        principal: Principal,
        now: dt.datetime,
    ) -> None:
        """Add to `errors` what only the register and the clock can tell; raise the 403 or
        the 422 of the upload, if any."""
        foreign: list[dict[str, Any]] = []
        seen: dict[tuple[str, str], int] = {}
        for r in rows:
            o = r.obs
            found = register.get(o.credit_code)
            wrong: list[tuple[str, str]] = []
            if found is None or found.ended_at is not None:
                wrong.append(("credit_code", f"{o.credit_code} is not a monitored enterprise"))
            elif principal.role is Role.REPORTER and principal.jurisdiction not in (
                None,
                found.jurisdiction,
            ):
                place = f"an enterprise of {found.jurisdiction}, not of this key's jurisdiction"
                foreign.append(uploads.error(r.where, r.line, "credit_code", place))
            elif o.period > domain.period_of(now, self.tz(found.jurisdiction)):
                wrong.append(("period", f"{o.period} has not begun"))
            first = seen.setdefault((o.credit_code, o.period), r.line)
            if first != r.line:
                wrong.append(("period", f"the same enterprise and month as row {first}"))
            errors += [uploads.error(r.where, r.line, f, m) for f, m in wrong]
        if foreign:
            raise Problem(
                403,
                "this key sends figures only for its jurisdiction's enterprises",
                errors=foreign,
            )
        if errors:
            raise uploads.invalid(errors)

    # ------------------------------------------------------------------ what others say

    async def on_reports(self, session: AsyncSession, reports: Sequence[ReportReceived]) -> None:
        """Learn from intake which report each alert filed."""
        links = {
            r.report.source_ref: r.report.id
            for r in reports
            if r.report.channel == "monitoring" and r.report.source_ref
        }
        await self.store.link_reports(session, links)

    # -------------------------------------------------------------------- missing timer

    async def fire_missing(self, *, now: dt.datetime, limit: int = 500) -> int:
        """Raise a `missing` alert for each month whose figures are past due, once; move each
        enterprise's timer on to its next month. Claimed under lock: replicas share it."""
        async with self.store.sessionmaker.begin() as session:
            due = await self.store.claim_missing(session, now, limit=limit)
            if not due:
                return 0
            pairs = [(e.credit_code, e.missing_period) for e in due]
            seen = await self.store.observed(session, pairs)
            rows, events, steps = [], [], []
            for e in due:
                if (e.credit_code, e.missing_period) not in seen:
                    row = alert_row(
                        e,
                        e.missing_period,
                        missing(e.missing_period, self.policies[e.jurisdiction].missing_day),
                        now=now,
                        drill=self.drill,
                    )
                    rows.append(row)
                    events.append(MonitoringAlert(alert=views.alert_data(row), report=None))
                nxt = domain.shift(e.missing_period, 1)
                tz = self.tz(e.jurisdiction)
                steps.append(
                    (
                        e.credit_code,
                        nxt,
                        domain.missing_due(
                            nxt, tz=tz, day=self.policies[e.jurisdiction].missing_day
                        ),
                    )
                )
            await self.store.add_missing(session, rows, events)
            await self.store.advance(session, steps)
        return len(due)


def missing(period: str, day: int) -> Finding:
    """The `missing` alert of a month without figures by the `day`th of the next."""
    by = f"{domain.shift(period, 1)}-{day:02d}"
    return Finding(
        "missing",
        "observation",
        Decimal(0),
        (f"no observation for {period} by the end of {by}",),
        (f"{period} 月度监测数据逾期未报（应于 {by} 前报送）",),
    )


def keeps(principal: Principal, jurisdiction: str) -> None:
    """403 unless the principal keeps that jurisdiction's register (analyst of it, admin)."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.ANALYST or principal.jurisdiction not in (None, jurisdiction):
        raise Problem(403, f"this key may not keep {jurisdiction}'s monitoring register")


def reads(principal: Principal, jurisdiction: str | None) -> str | None:
    """The jurisdiction a read is narrowed to, as statistics are read: analysts of it,
    responders of its bodies without a region, admins; 403 otherwise."""
    if principal.role is Role.ADMIN:
        return jurisdiction
    allowed = principal.role is Role.ANALYST or (
        principal.role is Role.RESPONDER and not principal.region and not principal.external
    )
    elsewhere = principal.jurisdiction is not None and jurisdiction not in (
        None,
        principal.jurisdiction,
    )
    if not allowed or elsewhere:
        raise Problem(403, "this key may not read the monitoring of this jurisdiction")
    return principal.jurisdiction or jurisdiction


def _invalid(field: str, msg: str) -> Problem:
    return Problem(
        422,
        f"{field}: {msg}",
        title="Validation failed",
        errors=[{"loc": ["body", field], "msg": msg, "type": "value_error"}],
    )

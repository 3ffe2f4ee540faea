"""Insight's operations: the statistics of a range, and review meetings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.auth import Principal, Role
from libs.common.clock import Clock
from libs.common.contracts.reviews import ReviewHeld
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.problems import Problem
from services.insight import domain, store
from services.insight.schemas import ReviewIn, ReviewOut
from services.insight.tables import reviews

SERVICE = "insight"


def may_read_insight(principal: Principal, jurisdiction: str) -> bool:
    """Analysts of the jurisdiction, responders of its bodies without a region, admins."""
    if principal.role is Role.ADMIN:
        return True
    if principal.jurisdiction not in (None, jurisdiction):
        return False
    if principal.role is Role.ANALYST:
        return True
    return principal.role is Role.RESPONDER and not principal.region and not principal.external


@dataclass
class Insight:
    """Insight's parts: database, registry, clock, and the outbox its review events leave by."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    clock: Clock
    outbox: Outbox

    def readable(self, principal: Principal, jurisdiction: str) -> None:
        """422 for an unknown jurisdiction, 403 for one the caller may not read."""
        if self.registry.get(jurisdiction) is None:
            raise Problem(422, f"unknown jurisdiction {jurisdiction!r}")
        if not may_read_insight(principal, jurisdiction):
            raise Problem(403, f"this key may not read the statistics of {jurisdiction}")

    def today(self, jurisdiction: str) -> dt.date:
        """Today in the jurisdiction's time zone."""
        found = self.registry.get(jurisdiction)
        return domain.local_day(self.clock.now(), found.timezone if found else "Asia/Shanghai")

    async def statistics(self, jurisdiction: str, start: dt.date, end: dt.date) -> dict[str, Any]:
        """The contract's statistics of a range (validated and readable)."""
        now = self.clock.now()
        async with self.sessionmaker() as session:
            sums = await store.daily_sums(session, jurisdiction, start, end)
            pending = await store.open_notifications(session, jurisdiction, start, end, now)
            opened, closed, middle = await store.case_counts(session, jurisdiction, start, end)
        found = self.registry.get(jurisdiction)
        levels = [lvl.id for lvl in found.policy.levels] if found else []
        figures: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        months: dict[str, dict[str, Any]] = {
            m: {"reports": 0, "incidents": 0, "warnings": 0, "by_level": dict.fromkeys(levels, 0)}
            for m in domain.months_between(start, end)
        }
        for month, measure, key, value in sums:
            figures[(measure, key)] += value
            if key == "" and measure in ("reports", "incidents", "warnings"):
                months[month][measure] += int(value)
            elif measure == "incidents.level" and key in months[month]["by_level"]:
                months[month]["by_level"][key] += int(value)
        return {
            "jurisdiction": jurisdiction,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "reports": {
                "total": int(figures[("reports", "")]),
                **{
                    f"by_{m}": _by(figures, f"reports.{m}")
                    for m in ("source", "category", "region")
                },
            },
            "incidents": _incidents(figures, levels),
            "notifications": _notifications(figures, pending),
            "cases": {
                "opened": opened,
                "closed": closed,
                "median_hours_to_close": domain.median_hours(middle),
            },
            "by_month": [{"month": m, **counts} for m, counts in months.items()],
        }

    async def record_review(self, body: ReviewIn, *, principal: Principal) -> ReviewOut:
        """Record a review meeting and announce it to the incidents it discussed."""
        self.readable(principal, body.jurisdiction)
        now = self.clock.now()
        if body.held_at.tzinfo is None:
            raise Problem(422, "held_at needs a time zone")
        if body.held_at > now:
            raise Problem(422, "held_at is in the future")
        ids = list(dict.fromkeys(body.incident_ids))
        review = ReviewOut(
            id=str(uuid.uuid4()),
            **body.model_dump(exclude={"incident_ids"}),
            incident_ids=ids,
            recorded_by=principal.actor,
            recorded_at=now,
            drill=self.clock.drill,
        )
        async with self.sessionmaker.begin() as session:
            known = await store.incident_jurisdictions(session, ids)
            wrong = [i for i in ids if known.get(i) != body.jurisdiction]
            if wrong:
                raise Problem(422, f"not incidents of {body.jurisdiction}: {', '.join(wrong)}")
            await session.execute(reviews.insert().values(**review.model_dump()))
            event = ReviewHeld(
                review_id=review.id,
                jurisdiction=review.jurisdiction,
                held_at=review.held_at,
                kind=body.kind,
                incident_ids=ids,
                conclusions=review.conclusions,
                by=review.recorded_by,
                drill=review.drill,
            )
            key = f"{review.jurisdiction}:review"
            self.outbox.add(
                session, topic=ReviewHeld.topic, event_=event.to_event(subject=review.id, key=key)
            )
        return review

    async def reviews(
        self, jurisdiction: str, start: dt.date | None, end: dt.date | None
    ) -> list[ReviewOut]:
        """The jurisdiction's review meetings held in the range (days there), newest first."""
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(reviews)
                .where(reviews.c.jurisdiction == jurisdiction)
                .order_by(reviews.c.held_at.desc())
            )
            found = [ReviewOut.model_validate(dict(r)) for r in rows.mappings()]
        zone = self.registry.get(jurisdiction)
        tz = zone.timezone if zone else "Asia/Shanghai"
        return [
            r
            for r in found
            if (start is None or domain.local_day(r.held_at, tz) >= start)
            and (end is None or domain.local_day(r.held_at, tz) <= end)
        ]

    async def review(self, review_id: str, *, principal: Principal) -> ReviewOut:
        """One review meeting (404, or 403 for another jurisdiction's)."""
        async with self.sessionmaker() as session:
            row = (
                (await session.execute(select(reviews).where(reviews.c.id == review_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise Problem(404, "no such review meeting")
        self.readable(principal, row["jurisdiction"])
        return ReviewOut.model_validate(dict(row))


def _by(figures: dict[tuple[str, str], Decimal], measure: str) -> dict[str, int]:
    return {k: int(v) for (m, k), v in sorted(figures.items()) if m == measure and v}


def _incidents(figures: dict[tuple[str, str], Decimal], levels: list[str]) -> dict[str, Any]:
    by_level = {lvl: 0 for lvl in levels} | {"none": 0} | _by(figures, "incidents.level")
    return {
        "total": int(figures[("incidents", "")]),
        "by_level": by_level,
        "lifted": int(figures[("incidents.lifted", "")]),
        "clusters": int(figures[("clusters", "")]),
        "by_category": _by(figures, "incidents.category"),
        "by_region": _by(figures, "incidents.region"),
        "by_industry": _by(figures, "incidents.industry"),
        "workers_involved": int(figures[("incidents.workers", "")]),
        "amount_yuan": domain.yuan_string(figures[("incidents.amount", "")]),
    }


def _notifications(
    figures: dict[tuple[str, str], Decimal], pending: dict[str, int]
) -> dict[str, Any]:
    """Unacknowledged notifications are late once due, open until then."""
    bodies: dict[str, dict[str, int]] = {}
    for body in sorted({k for m, k in figures if m == "notifications.due" and figures[(m, k)]}):
        unacked = int(figures[("notifications.unacked", body)])
        bodies[body] = {
            "due": int(figures[("notifications.due", body)]),
            "on_time": int(figures[("notifications.on_time", body)]),
            "late": int(figures[("notifications.late", body)]) + unacked - pending.get(body, 0),
        }
    due = sum(b["due"] for b in bodies.values())
    on_time = sum(b["on_time"] for b in bodies.values())
    late = sum(b["late"] for b in bodies.values())
    return {
        "due": due,
        "on_time": on_time,
        "late": late,
        "open": due - on_time - late,
        "on_time_rate": domain.rate(on_time, on_time + late),
        "by_body": dict(sorted(bodies.items())),
    }

"""Grading's reads and writes: place reports in incidents, grade, assess, announce."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.access import Item, may_read
from libs.common.auth import Principal, Role
from libs.common.clock import Clock
from libs.common.db import insert_at_commit, insert_now, lock
from libs.common.events import INCIDENT_WARNING, new_event
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.pagination import newest_first, next_cursor
from libs.common.problems import TYPE_BASE, Problem
from services.grading.domain import (
    ClusterCandidate,
    Figures,
    correlation_key,
    find_cluster,
    grade,
    merge,
    route_for,
)
from services.grading.policy import Policy
from services.grading.schemas import (
    AssessmentIn,
    BodyRef,
    EnterpriseRef,
    IncidentDetail,
    IncidentOut,
    TimelineOut,
)
from services.grading.tables import Incident, IncidentReport, TimelineEntry

SERVICE = "grading"
UPDATED = "laborwatch.incident.updated.v1"  # an incident changed without a new warning
_GENESIS = "0" * 64
_WRITTEN = "grading.written"  # session.info key of the transaction's _Written


@dataclass
class _Written:
    """What one transaction has read and written so far, kept so that the later events of a
    consumed batch need not ask the database again, nor flush to it, for what this
    transaction knows best. The batch is then flushed once, at commit."""

    # incident id -> hash of its latest timeline entry
    heads: dict[str, str] = field(default_factory=dict)
    # correlation key -> its open incident, read (and locked) or opened in this transaction;
    # None: looked up, and none was open
    by_key: dict[str, Incident | None] = field(default_factory=dict)
    # incident id -> the incident, locked in this transaction; None: there is no such incident
    by_id: dict[str, Incident | None] = field(default_factory=dict)
    # incident id -> (received_at, report id) of all its reports, where known in full
    reports: dict[str, list[tuple[dt.datetime, str]]] = field(default_factory=dict)
    # reports placed, in this transaction or before it
    placed: set[str] = field(default_factory=set)
    # reports of which the database was asked whether they were placed before
    checked: set[str] = field(default_factory=set)


def _written(session: AsyncSession) -> _Written:
    written: _Written = session.info.setdefault(_WRITTEN, _Written())
    return written


@dataclass
class Grading:
    """The grading service's operations over its tables."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    policies: dict[str, Policy]
    outbox: Outbox
    clock: Clock

    # ------------------------------------------------------------------- reports arrive

    async def prepare_reports(self, session: AsyncSession, reports: list[dict[str, Any]]) -> None:
        """Read at once, for a batch of reports, what placing them one by one would read
        report by report: which were placed before, and the open incidents of their keys
        (locked, in id order), with those incidents' timeline heads and reports."""
        written = _written(session)
        ids = [r["id"] for r in reports]
        with session.no_autoflush:
            written.placed.update(
                await session.scalars(
                    select(IncidentReport.report_id).where(IncidentReport.report_id.in_(ids))
                )
            )
            written.checked.update(ids)
            keys = {k for k in map(_key_of, reports) if k is not None} - written.by_key.keys()
            if not keys:
                return
            query = select(Incident).where(
                Incident.correlation_key.in_(keys), Incident.status == "open"
            )
            found = list(await session.scalars(lock(query.order_by(Incident.id), session)))
        written.by_key.update(dict.fromkeys(keys))
        written.by_key.update({i.correlation_key: i for i in found if i.correlation_key})
        written.by_id.update({i.id: i for i in found})
        await self._read_heads(session, [i.id for i in found])
        await self._read_reports(session, [i.id for i in found if i.kind == "single"])

    async def on_report(self, session: AsyncSession, report: dict[str, Any]) -> None:
        """Place a received report in its incident, regrade, and announce (one transaction)."""
        jurisdiction = report["jurisdiction"]
        policy = self.policies.get(jurisdiction)
        if policy is None:
            raise ValueError(f"no policy for jurisdiction {jurisdiction!r}")
        written = _written(session)
        if report["id"] not in written.checked:
            with session.no_autoflush:
                if await session.get(IncidentReport, report["id"]) is not None:
                    written.placed.add(report["id"])
        if report["id"] in written.placed:
            return  # the same report again (re-published, or twice in a batch): placed
        now = self.clock.now()
        figures = _figures_of(report)
        key = _key_of(report)
        incident = await self._open_incident(session, key) if key else None
        if incident is None:
            incident = await self._create(session, policy, key, report, figures, now)
        else:
            _store_figures(incident, merge(_figures_of_incident(incident), figures))
        incident.last_report_at = now
        incident.updated_at = now
        insert_at_commit(
            session,
            IncidentReport,
            {
                "report_id": report["id"],
                "incident_id": incident.id,
                "source": report["source"],
                "received_at": now,
                "figures": _figure_dict(figures),
            },
        )
        written.placed.add(report["id"])
        if incident.id in written.reports:
            written.reports[incident.id].append((now, report["id"]))
        await self._append(
            session,
            incident,
            "report_added",
            "intake",
            now,
            {
                "report_id": report["id"],
                "source": report["source"],
                "figures": _figure_dict(figures),
            },
        )
        previous = incident.level
        raised = self._regrade(incident, policy, now)
        if raised:
            await self._append(
                session,
                incident,
                "level_raised",
                "policy",
                now,
                {
                    "from": previous,
                    "to": incident.level,
                    "reasons": incident.reasons,
                    "routed_to": incident.routed_to,
                },
            )
        await self._announce(session, incident, previous=previous, warning=raised)
        if policy.cluster is not None and incident.kind == "single":
            await self._gather_cluster(session, policy, jurisdiction, now)

    async def _open_incident(self, session: AsyncSession, key: str) -> Incident | None:
        # As this transaction knows it, or else as the database has it (without flushing);
        # it may have been closed since, in this transaction, unflushed.
        by_key = _written(session).by_key
        if key in by_key:
            found = by_key[key]
        else:
            query = select(Incident).where(
                Incident.correlation_key == key, Incident.status == "open"
            )
            with session.no_autoflush:
                found = by_key[key] = await session.scalar(lock(query, session))
        if found is None or found.status != "open" or found.correlation_key != key:
            return None
        return found

    async def _create(
        self,
        session: AsyncSession,
        policy: Policy,
        key: str | None,
        report: dict[str, Any],
        figures: Figures,
        now: dt.datetime,
    ) -> Incident:
        enterprise = report["enterprise"]
        incident = Incident(
            id=str(uuid.uuid4()),
            jurisdiction=report["jurisdiction"],
            policy=policy.id,
            kind="single",
            correlation_key=key,
            status="open",
            enterprise_name=enterprise.get("name"),
            credit_code=enterprise.get("credit_code"),
            industry=enterprise.get("industry"),
            category=report["category"],
            level=None,
            level_rank=0,
            reasons=[],
            routed_to=None,
            issued_at=None,
            provisional=False,
            assessed=False,
            cluster_id=None,
            member_ids=[],
            opened_at=now,
            last_report_at=now,
            updated_at=now,
            drill=self.clock.drill,
        )
        _store_figures(incident, figures)
        # Two processes opening an incident on one enterprise at once: the unique index on
        # open keys lets one commit win; the other's transaction fails, and the event is
        # applied again, when it finds and joins the winner's incident.
        self._opened(session, incident)
        await self._append(session, incident, "opened", "intake", now, {"correlation_key": key})
        return incident

    def _opened(self, session: AsyncSession, incident: Incident) -> None:
        """Add a new incident; the transaction knows it has no reports nor timeline yet."""
        session.add(incident)
        written = _written(session)
        if incident.correlation_key is not None:
            written.by_key[incident.correlation_key] = incident
        written.by_id[incident.id] = incident
        written.reports[incident.id] = []
        written.heads[incident.id] = _GENESIS  # a new chain

    def _regrade(self, incident: Incident, policy: Policy, now: dt.datetime) -> bool:
        """Apply the policy; raise the level if it now gives a higher one. Say if it rose."""
        result = grade(policy, _figures_of_incident(incident))
        if result.level is None or result.rank <= incident.level_rank:
            if (
                result.level is not None
                and result.level.id == incident.level
                and not incident.assessed
            ):
                incident.reasons = list(result.reasons)  # same level, figures grew
            elif incident.level is None:
                incident.reasons = list(result.reasons)  # why there is no warning (yet)
            return False
        incident.level = result.level.id
        incident.level_rank = result.rank
        incident.reasons = list(result.reasons)
        incident.routed_to = result.route
        incident.issued_at = now
        incident.provisional = policy.provisional
        incident.assessed = False
        return True

    # --------------------------------------------------------------------- county clusters

    async def _gather_cluster(
        self, session: AsyncSession, policy: Policy, jurisdiction: str, now: dt.datetime
    ) -> None:
        rule = policy.cluster
        assert rule is not None
        window = self.clock.scaled(rule.within)
        rows = (
            (
                await session.execute(
                    select(Incident).where(
                        Incident.jurisdiction == jurisdiction,
                        Incident.kind == "single",
                        Incident.status == "open",
                        Incident.collective_action.in_(("possible", "occurred")),
                        Incident.last_report_at >= now - window,
                    )
                )
            )
            .scalars()
            .all()
        )
        found = find_cluster(
            policy,
            [
                ClusterCandidate(
                    incident_id=r.id,
                    regions=frozenset(r.regions),
                    workers_involved=r.workers_involved,
                    collective_action=r.collective_action,
                    last_report_at=r.last_report_at,
                )
                for r in rows
            ],
            now=now,
            window=window,
        )
        if found is None:
            return
        members = {r.id: r for r in rows}
        key = f"{jurisdiction}|cluster"
        cluster = await self._open_incident(session, key)
        if cluster is not None and now - cluster.last_report_at > window:
            cluster.status = "closed"  # quiet for a whole window: a new cluster starts
            cluster.correlation_key = None
            await self._append(
                session,
                cluster,
                "closed",
                "policy",
                now,
                {"why": "no new member within the window"},
            )
            cluster = None
        level = policy.level(rule.level)
        if cluster is None:
            first = members[found.member_ids[0]]
            cluster = Incident(
                id=str(uuid.uuid4()),
                jurisdiction=jurisdiction,
                policy=policy.id,
                kind="cluster",
                correlation_key=key,
                status="open",
                enterprise_name=None,
                credit_code=None,
                industry=None,
                category=first.category,
                region=first.region,
                regions=[],
                workers_involved=0,
                amount_yuan=Decimal(0),
                terminations=0,
                collective_action="possible",
                extreme_individual=False,
                potential_major_impact=False,
                sources=[],
                level=None,
                level_rank=0,
                reasons=[],
                routed_to=None,
                issued_at=None,
                provisional=policy.provisional,
                assessed=False,
                cluster_id=None,
                member_ids=[],
                opened_at=now,
                last_report_at=now,
                updated_at=now,
                drill=self.clock.drill,
            )
            self._opened(session, cluster)
            await self._append(session, cluster, "opened", "policy", now, {"correlation_key": key})
        new_members = [m for m in found.member_ids if m not in cluster.member_ids]
        if not new_members:
            return
        all_ids = [*cluster.member_ids, *new_members]
        gathered = [members[m] for m in all_ids if m in members]
        cluster.member_ids = all_ids
        cluster.regions = sorted(set(cluster.regions).union(*(m.regions for m in gathered)))
        cluster.workers_involved = max(
            cluster.workers_involved, sum(m.workers_involved for m in gathered)
        )
        cluster.amount_yuan = max(
            cluster.amount_yuan, sum((Decimal(m.amount_yuan) for m in gathered), Decimal(0))
        )
        cluster.terminations = max(cluster.terminations, sum(m.terminations for m in gathered))
        cluster.sources = sorted(set(cluster.sources).union(*(m.sources for m in gathered)))
        if any(m.collective_action == "occurred" for m in gathered):
            cluster.collective_action = "occurred"
        cluster.last_report_at = now
        cluster.updated_at = now
        for member in gathered:
            member.cluster_id = cluster.id
        await self._append(
            session,
            cluster,
            "members_added",
            "policy",
            now,
            {"member_ids": new_members, "reasons": list(found.reasons)},
        )
        previous = cluster.level
        warning = cluster.level_rank < level.rank
        if warning:
            cluster.level = level.id
            cluster.level_rank = level.rank
            cluster.routed_to = route_for(level, cluster.region)
            cluster.issued_at = now
            await self._append(
                session,
                cluster,
                "level_raised",
                "policy",
                now,
                {
                    "from": previous,
                    "to": level.id,
                    "reasons": list(found.reasons),
                    "routed_to": cluster.routed_to,
                },
            )
        cluster.reasons = list(found.reasons)
        await self._announce(session, cluster, previous=previous, warning=warning)

    # ------------------------------------------------------------------------ assessment

    async def assess(
        self, incident_id: str, body: AssessmentIn, *, principal: Principal
    ) -> Incident:
        """Record the leading group's assessment: confirm the level, or set another."""
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            incident = await self._get_for_update(session, incident_id, principal)
            policy = self.policies[incident.jurisdiction]
            if principal.role is not Role.ADMIN and principal.body_id not in policy.assessors:
                raise Problem(
                    403,
                    "only the leading group (or an admin) assesses incidents: "
                    f"{', '.join(policy.assessors)}",
                )
            actor = principal.body_id or f"admin:{principal.name}"
            if body.decision == "confirm":
                incident.provisional = False
                incident.assessed = True
                incident.updated_at = now
                await self._append(
                    session,
                    incident,
                    "assessment_confirmed",
                    actor,
                    now,
                    {"level": incident.level},
                    note=body.reason,
                )
                await self._announce(session, incident, previous=incident.level, warning=False)
                return incident
            if not body.reason:
                raise Problem(
                    422,
                    "reason: a changed level needs a reason",
                    type_=TYPE_BASE + "validation-error",
                    title="Validation failed",
                    errors=[
                        {
                            "loc": ["body", "reason"],
                            "msg": "required with set_level",
                            "type": "missing",
                        }
                    ],
                )
            if body.level is not None and body.level not in {lvl.id for lvl in policy.levels}:
                raise Problem(
                    422,
                    f"level: {body.level!r} is not a level of {policy.id}",
                    type_=TYPE_BASE + "validation-error",
                    title="Validation failed",
                    errors=[
                        {
                            "loc": ["body", "level"],
                            "type": "enum",
                            "msg": f"one of {[lvl.id for lvl in policy.levels]}",
                        }
                    ],
                )
            if body.level == incident.level:
                raise Problem(
                    409, f"the incident is already at level {body.level}; use decision=confirm"
                )
            previous = incident.level
            if body.level is None:
                incident.level, incident.level_rank, incident.routed_to = None, 0, None
            else:
                level = policy.level(body.level)
                incident.level, incident.level_rank = level.id, level.rank
                incident.routed_to = route_for(level, incident.region)
            incident.reasons = [f"assessment: {body.reason} (领导小组评估)"]
            incident.issued_at = now
            incident.provisional = False
            incident.assessed = True
            incident.updated_at = now
            await self._append(
                session,
                incident,
                "level_set_by_assessment",
                actor,
                now,
                {"from": previous, "to": incident.level},
                note=body.reason,
            )
            await self._announce(
                session, incident, previous=previous, warning=True, by_assessment=True
            )
            return incident

    # ----------------------------------------------------------- notifications (timeline)

    async def prepare_notifications(
        self, session: AsyncSession, notices: list[dict[str, Any]]
    ) -> None:
        """Lock at once, in id order, the incidents a batch of notices is about, and read
        their timeline heads."""
        written = _written(session)
        # An id that is not a string is not looked up here: its event fails alone, later.
        ids = {i for n in notices if isinstance(i := n.get("incident_id"), str)}
        ids -= written.by_id.keys()
        if not ids:
            return
        query = lock(select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id), session)
        with session.no_autoflush:
            found = list(await session.scalars(query))
        written.by_id.update(dict.fromkeys(ids))
        written.by_id.update({i.id: i for i in found})
        await self._read_heads(session, [i.id for i in found])

    async def on_notification(self, session: AsyncSession, data: dict[str, Any]) -> None:
        """Add what the notifier did (sent, acknowledged, overdue, escalated) to the timeline."""
        by_id = _written(session).by_id
        incident_id = data.get("incident_id")
        if isinstance(incident_id, str) and incident_id in by_id:
            incident = by_id[incident_id]
        else:
            query = lock(select(Incident).where(Incident.id == incident_id), session)
            with session.no_autoflush:
                incident = await session.scalar(query)
        if incident is None:
            return
        notification = data.get("notification", {})
        await self._append(
            session,
            incident,
            f"notification_{data.get('kind', 'event')}",
            "notifier",
            self.clock.now(),
            {
                "notification_id": notification.get("id"),
                "body_id": notification.get("body_id"),
                "level": notification.get("level"),
                "status": notification.get("status"),
            },
        )

    # ------------------------------------------------------------------------------ read

    async def get(self, incident_id: str, *, principal: Principal) -> IncidentDetail:
        """Return an incident with its timeline, if the caller may see it."""
        async with self.sessionmaker() as session:
            incident = await session.get(Incident, incident_id)
            if incident is None or not may_read(
                principal, Item(incident.jurisdiction, regions=incident.regions)
            ):
                raise Problem(404, f"no incident {incident_id}")
            entries = list(
                (
                    await session.execute(
                        select(TimelineEntry)
                        .where(TimelineEntry.incident_id == incident_id)
                        .order_by(TimelineEntry.id)
                    )
                ).scalars()
            )
            out = await self.to_out(session, incident)
        return IncidentDetail(
            **out.model_dump(),
            timeline=[
                TimelineOut(at=e.at, kind=e.kind, actor=e.actor, detail=e.detail, note=e.note)
                for e in entries
            ],
            timeline_intact=verify_chain(entries),
        )

    async def page(
        self,
        *,
        principal: Principal,
        limit: int,
        cursor: str | None,
        jurisdiction: str | None,
        level: str | None,
        status: str | None,
        region: str | None,
        kind: str | None,
    ) -> tuple[list[IncidentOut], str | None]:
        """A page of incidents, newest first, and the next cursor."""
        if principal.role is not Role.ADMIN:
            if jurisdiction not in (None, principal.jurisdiction):
                raise Problem(403, f"this key may not read jurisdiction {jurisdiction}")
            jurisdiction = principal.jurisdiction
        query = select(Incident)
        for column, value in (
            (Incident.jurisdiction, jurisdiction),
            (Incident.level, level),
            (Incident.status, status),
            (Incident.kind, kind),
        ):
            if value is not None:
                query = query.where(column == value)
        if region is not None:
            query = query.where(Incident.region == region)
        query = newest_first(query, Incident.opened_at, Incident.id, cursor=cursor, limit=limit)
        async with self.sessionmaker() as session:
            rows = list((await session.execute(query)).scalars())
            items = [await self.to_out(session, r) for r in rows[:limit]]
        return items, next_cursor(rows, limit, Incident.opened_at)

    async def to_out(self, session: AsyncSession, incident: Incident) -> IncidentOut:
        """Render an incident as the API and the events show it."""
        if incident.kind == "single":
            await self._read_reports(session, [incident.id])
            known = _written(session).reports[incident.id]
            report_ids = [report_id for _, report_id in sorted(known)]
        else:  # a cluster's reports are its members', some perhaps placed in this transaction
            await insert_now(session)
            report_ids = list(
                await session.scalars(
                    select(IncidentReport.report_id)
                    .where(IncidentReport.incident_id.in_(incident.member_ids))
                    .order_by(IncidentReport.received_at, IncidentReport.report_id)
                )
            )
        label = None
        if incident.level is not None:
            label = self.policies[incident.jurisdiction].level(incident.level).label
        return IncidentOut(
            id=incident.id,
            jurisdiction=incident.jurisdiction,
            policy=incident.policy,
            kind=incident.kind,
            status=incident.status,
            level=incident.level,
            level_label=label,
            level_rank=incident.level_rank,
            provisional=incident.provisional,
            reasons=incident.reasons,
            routed_to=self._body(incident.routed_to),
            issued_at=incident.issued_at,
            report_ids=report_ids,
            member_ids=incident.member_ids,
            cluster_id=incident.cluster_id,
            corroboration=len(incident.sources),
            sources=incident.sources,
            enterprise=EnterpriseRef(
                name=incident.enterprise_name,
                credit_code=incident.credit_code,
                industry=incident.industry,
            ),
            category=incident.category,
            region=incident.region,
            regions=incident.regions,
            workers_involved=incident.workers_involved,
            amount_yuan=incident.amount_yuan,
            terminations=incident.terminations,
            collective_action=incident.collective_action,
            extreme_individual=incident.extreme_individual,
            potential_major_impact=incident.potential_major_impact,
            opened_at=incident.opened_at,
            updated_at=incident.updated_at,
            drill=incident.drill,
        )

    # --------------------------------------------------------------------------- helpers

    def _body(self, body_id: str | None) -> BodyRef | None:
        if body_id is None:
            return None
        found = self.registry.body(body_id)
        return BodyRef(body_id=body_id, name=found[1].name if found else body_id)

    def escalation_chain(self, body_id: str) -> list[str]:
        """The bodies above a body, nearest first."""
        chain: list[str] = []
        found = self.registry.body(body_id)
        while found is not None and found[1].parent is not None and found[1].parent not in chain:
            chain.append(found[1].parent)
            found = self.registry.body(found[1].parent)
        return chain

    async def _get_for_update(
        self, session: AsyncSession, incident_id: str, principal: Principal
    ) -> Incident:
        query = select(Incident).where(Incident.id == incident_id)
        query = lock(query, session)
        incident: Incident | None = await session.scalar(query)
        if incident is None or not may_read(
            principal, Item(incident.jurisdiction, regions=incident.regions)
        ):
            raise Problem(404, f"no incident {incident_id}")
        return incident

    async def _read_heads(self, session: AsyncSession, incident_ids: list[str]) -> None:
        """Read the timeline heads of incidents whose head the transaction does not know."""
        heads = _written(session).heads
        ids = [i for i in incident_ids if i not in heads]
        if not ids:
            return
        latest = (
            select(func.max(TimelineEntry.id))
            .where(TimelineEntry.incident_id.in_(ids))
            .group_by(TimelineEntry.incident_id)
        )
        query = select(TimelineEntry.incident_id, TimelineEntry.hash).where(
            TimelineEntry.id.in_(latest)
        )
        with session.no_autoflush:
            found = {incident_id: hash_ for incident_id, hash_ in await session.execute(query)}
        for incident_id in ids:
            heads[incident_id] = found.get(incident_id, _GENESIS)

    async def _read_reports(self, session: AsyncSession, incident_ids: list[str]) -> None:
        """Read the reports of single incidents whose reports the transaction does not know."""
        known = _written(session).reports
        ids = [i for i in incident_ids if i not in known]
        if not ids:
            return
        query = select(
            IncidentReport.incident_id, IncidentReport.received_at, IncidentReport.report_id
        ).where(IncidentReport.incident_id.in_(ids))
        for incident_id in ids:
            known[incident_id] = []
        with session.no_autoflush:
            for incident_id, received_at, report_id in await session.execute(query):
                known[incident_id].append((received_at, report_id))

    async def _append(
        self,
        session: AsyncSession,
        incident: Incident,
        kind: str,
        actor: str,
        at: dt.datetime,
        detail: dict[str, Any],
        *,
        note: str | None = None,
    ) -> None:
        """Append a timeline entry sealed to the one before it.

        The incident's row is locked by the caller, so no other transaction appends meanwhile;
        the chain's head is read once per transaction and then kept in the session.
        """
        heads = _written(session).heads
        await self._read_heads(session, [incident.id])
        entry: dict[str, Any] = {
            "incident_id": incident.id,
            "at": at,
            "kind": kind,
            "actor": actor,
            "detail": detail,
            "note": note,
            "prev_hash": heads[incident.id],
        }
        entry["hash"] = heads[incident.id] = seal(entry)
        insert_at_commit(session, TimelineEntry, entry)  # append-only, never read back here

    async def _announce(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        previous: str | None,
        warning: bool,
        by_assessment: bool = False,
    ) -> None:
        """Write `incident.warning` (a new or changed level) or an update, through the outbox."""
        out = await self.to_out(session, incident)
        data: dict[str, Any] = {"incident": out.model_dump(mode="json"), "warning": None}
        if warning:
            data["warning"] = self._warning(incident, previous)
            # A level set (or lifted) by the leading group replaces what was issued before:
            # the notifier closes the notifications still pending for the incident.
            data["warning"]["by_assessment"] = by_assessment
        key = incident.correlation_key or f"{incident.jurisdiction}|{incident.id}"
        self.outbox.add(
            session,
            topic=INCIDENT_WARNING,
            event_=new_event(
                service=SERVICE,
                type_=INCIDENT_WARNING if warning else UPDATED,
                subject=incident.id,
                key=key.rsplit("|", 1)[0] if incident.kind == "single" else key,
                data=data,
            ),
        )

    def _warning(self, incident: Incident, previous: str | None) -> dict[str, Any]:
        """The warning as issued: its level and, frozen, the limits and chain in force."""
        policy = self.policies[incident.jurisdiction]
        warning: dict[str, Any] = {
            "level": incident.level,
            "previous_level": previous,
            "policy": policy.id,
            "reasons": incident.reasons,
            "drill": incident.drill,
            "issued_at": incident.issued_at.isoformat() if incident.issued_at else None,
        }
        if incident.level is None:
            return warning | {"lifted": True}
        level = policy.level(incident.level)
        limit = self.clock.scaled(level.limit)
        assert incident.issued_at is not None and incident.routed_to is not None
        warning |= {
            "level_label": level.label,
            "level_rank": level.rank,
            "routed_to": self._body(incident.routed_to).model_dump(),  # type: ignore[union-attr]
            "copies": [self._body(b).model_dump() for b in level.copies],  # type: ignore[union-attr]
            "reporting_limit": _iso_duration(level.limit),
            "reporting_limit_seconds": limit.total_seconds(),
            "due_at": (incident.issued_at + limit).isoformat(),
            "escalation_chain": self.escalation_chain(incident.routed_to),
        }
        return warning


_SEALED = ("incident_id", "at", "kind", "actor", "detail", "note", "prev_hash")


def seal(entry: Mapping[str, Any]) -> str:
    """The hash of an entry (its columns), covering the hash of the entry before it."""
    body = orjson.dumps(
        {
            "incident_id": entry["incident_id"],
            "at": entry["at"].isoformat(),
            "kind": entry["kind"],
            "actor": entry["actor"],
            "detail": entry["detail"],
            "note": entry["note"],
            "prev": entry["prev_hash"],
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def verify_chain(entries: list[TimelineEntry]) -> bool:
    """Say whether a timeline is whole: every entry sealed, each to the one before."""
    prev = _GENESIS
    for entry in entries:
        columns = {name: getattr(entry, name) for name in _SEALED}
        if entry.prev_hash != prev or seal(columns) != entry.hash:
            return False
        prev = entry.hash
    return True


def _key_of(report: dict[str, Any]) -> str | None:
    return correlation_key(
        jurisdiction=report["jurisdiction"],
        credit_code=report["enterprise"].get("credit_code"),
        name=report["enterprise"].get("name"),
        category=report["category"],
    )


def _figures_of(report: dict[str, Any]) -> Figures:
    return Figures(
        category=report["category"],
        region=report["region"],
        regions=frozenset(report.get("affected_regions") or [report["region"]]),
        workers_involved=int(report["workers_involved"]),
        amount_yuan=Decimal(str(report["amount_yuan"])),
        terminations=int(report["terminations"]),
        collective_action=report["collective_action"],
        extreme_individual=bool(report["extreme_individual"]),
        potential_major_impact=bool(report["potential_major_impact"]),
        sources=frozenset([report["source"]]),
    )


def _figures_of_incident(incident: Incident) -> Figures:
    return Figures(
        category=incident.category,
        region=incident.region,
        regions=frozenset(incident.regions),
        workers_involved=incident.workers_involved,
        amount_yuan=Decimal(incident.amount_yuan),
        terminations=incident.terminations,
        collective_action=incident.collective_action,
        extreme_individual=incident.extreme_individual,
        potential_major_impact=incident.potential_major_impact,
        sources=frozenset(incident.sources),
    )


def _store_figures(incident: Incident, figures: Figures) -> None:
    incident.region = incident.region if incident.region else figures.region
    incident.regions = sorted(figures.regions)
    incident.workers_involved = figures.workers_involved
    incident.amount_yuan = figures.amount_yuan
    incident.terminations = figures.terminations
    incident.collective_action = figures.collective_action
    incident.extreme_individual = figures.extreme_individual
    incident.potential_major_impact = figures.potential_major_impact
    incident.sources = sorted(figures.sources)


def _figure_dict(figures: Figures) -> dict[str, Any]:
    return {
        "workers_involved": figures.workers_involved,
        "amount_yuan": str(figures.amount_yuan),
        "terminations": figures.terminations,
        "collective_action": figures.collective_action,
        "regions": sorted(figures.regions),
        "extreme_individual": figures.extreme_individual,
        "potential_major_impact": figures.potential_major_impact,
    }


def _iso_duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if seconds else "PT0S"

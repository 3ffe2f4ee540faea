"""Grading's handlers: each gets from the store, asks the `Incident` what the rules say,
writes through the store and publishes the typed event. One transaction each (a consumed
batch shares one)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.access import Item, ensure_jurisdiction, may_act, readable_or_403, scope_of
from libs.common.auth import Principal, Role
from libs.common.clock import Clock
from libs.common.contracts import (
    IncidentUpdated,
    IncidentWarning,
    ReportData,
    ReportRevealed,
    partition_key,
)
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.privacy import redact
from libs.common.problems import Problem
from services.grading.audit import verify_chain
from services.grading.domain import (
    ClusterCandidate,
    Figures,
    cluster_key,
    code_key,
    find_cluster,
    joins_by_name,
    name_key,
)
from services.grading.incident import Enterprise, Incident
from services.grading.outcome import Outcome, Refused, changes_incident, notice_entry
from services.grading.policy import Policy
from services.grading.schemas import (
    AssessmentIn,
    IncidentDetail,
    IncidentOut,
    OpenWarnings,
    TimelineOut,
)
from services.grading.store import Store
from services.grading.views import Views, open_warnings
from services.grading.words import CollectiveAction, IncidentKind

SERVICE = "grading"


@dataclass(frozen=True)
class Notice:
    """What the notifier did to a notification of an incident, read tolerantly."""

    kind: str
    incident_id: str
    detail: dict[str, Any]
    note: str | None = None


@dataclass
class Grading:
    """The grading service's operations."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    policies: dict[str, Policy]
    outbox: Outbox
    clock: Clock
    store: Store = field(default_factory=Store)

    def __post_init__(self) -> None:
        self.views = Views(self.registry, self.policies, self.clock)

    # ------------------------------------------------------------------- reports arrive

    async def prepare_reports(self, session: AsyncSession, reports: list[ReportData]) -> None:
        """Read at once what a batch of reports needs (see `Store.prepare_reports`)."""
        await self.store.prepare_reports(session, [(r.id, *_keys(r)) for r in reports])

    async def on_report(self, session: AsyncSession, report: ReportData) -> None:
        """Place a received report in its incident, grade, and announce."""
        policy = self.policies.get(report.jurisdiction)
        if policy is None:
            raise ValueError(f"no policy for jurisdiction {report.jurisdiction!r}")
        if await self.store.placed(session, report.id):
            return  # the same report again (re-published, or twice in a batch): placed
        now, figures = self.clock.now(), _figures_of(report)
        incident, opened = await self._incident_for(session, report, policy, figures, now)
        outcome = incident.add_report(report.id, figures, policy, now)
        outcome.happened[:0] = opened.happened
        self.store.place(
            session, incident, report_id=report.id, source=report.source, figures=figures, at=now
        )
        await self._save(session, incident, outcome, now)
        if policy.cluster is not None:
            await self._gather_cluster(session, policy, report.jurisdiction, now)

    async def _incident_for(
        self,
        session: AsyncSession,
        report: ReportData,
        policy: Policy,
        figures: Figures,
        now: dt.datetime,
    ) -> tuple[Incident, Outcome]:
        """The open incident the report joins (by code; else by name, where either side has
        no code), or a new one."""
        code, name = _keys(report)
        by_code, by_name = await self.store.open_incidents(session, code, name)
        credit_code = report.enterprise.credit_code
        if by_code is not None:
            return by_code, Outcome()
        if by_name is not None and joins_by_name(credit_code, by_name.credit_code):
            if credit_code and code and not by_name.credit_code:
                by_name.adopt_code(credit_code, code)
                self.store.known_by_code(session, by_name)
            return by_name, Outcome()
        enterprise = Enterprise(report.enterprise.name, credit_code, report.enterprise.industry)
        incident, opened = Incident.open(
            id=str(uuid.uuid4()),
            jurisdiction=report.jurisdiction,
            policy=policy,
            enterprise=enterprise,
            figures=figures,
            # The name stays with the open incident that holds it (another code's, here).
            keys=(code, name if by_name is None else None),
            now=now,
            drill=self.clock.drill,
        )
        self.store.add(session, incident)
        return incident, opened

    async def _gather_cluster(
        self, session: AsyncSession, policy: Policy, jurisdiction: str, now: dt.datetime
    ) -> None:
        """Form or grow the jurisdiction's county cluster from its open incidents."""
        assert policy.cluster is not None
        window = self.clock.scaled(policy.cluster.within)
        members = await self.store.cluster_candidates(session, jurisdiction, now - window)
        found = find_cluster(policy, [_candidate(m) for m in members], now=now, window=window)
        if found is None:
            return
        key = cluster_key(jurisdiction)
        _, cluster = await self.store.open_incidents(session, None, key)
        if cluster is not None and cluster.quiet_since(now, window):
            await self._save(
                session, cluster, cluster.close("no new member within the window", now), now
            )
            cluster = None
        if cluster is None:
            cluster, opened = Incident.open_cluster(
                id=str(uuid.uuid4()),
                jurisdiction=jurisdiction,
                policy=policy,
                key=key,
                now=now,
                drill=self.clock.drill,
            )
            self.store.add(session, cluster)
            await self.store.record(session, cluster, opened, now)
        await self._save(session, cluster, cluster.gather(found, members, policy, now), now)

    # --------------------------------------------------------- what others tell grading

    async def prepare_incidents(self, session: AsyncSession, ids: list[str]) -> None:
        """Lock at once the incidents a batch of events is about."""
        await self.store.prepare_incidents(session, ids)

    async def prepare_notices(self, session: AsyncSession, kinds: dict[str, set[str]]) -> None:
        """Lock at once the incidents a batch of the notifier's events is about (incident id ->
        the kinds of what was done to its notifications)."""
        changing = [i for i, done in kinds.items() if any(map(changes_incident, done))]
        await self.store.prepare_notices(session, kinds, changing=changing)

    async def on_notice(self, session: AsyncSession, notice: Notice) -> None:
        """Add what the notifier did (sent, acknowledged, closed, escalated…) to the timeline."""
        if not changes_incident(notice.kind):
            entry = notice_entry(notice.kind, notice.detail, notice.note)
            await self.store.append(session, notice.incident_id, entry, self.clock.now())
            return
        incident = await self.store.locked(session, notice.incident_id)
        if incident is not None:
            now = self.clock.now()
            await self._save(
                session, incident, incident.noticed(notice.kind, notice.detail, notice.note), now
            )

    async def on_revealed(self, session: AsyncSession, revealed: ReportRevealed) -> None:
        """A caller's data read in clear (回访): who and why, in the incident's timeline."""
        incident_id = revealed.incident_id or await self.store.incident_of_report(
            session, revealed.report_id
        )
        incident = await self.store.locked(session, incident_id) if incident_id else None
        if incident is not None:
            outcome = incident.revealed(
                report_id=revealed.report_id, by=revealed.by, reason=revealed.reason, at=revealed.at
            )
            await self._save(session, incident, outcome, self.clock.now())

    # ------------------------------------------------------------------------ the API

    async def assess(
        self, incident_id: str, body: AssessmentIn, *, principal: Principal
    ) -> IncidentOut:
        """Record the leading group's assessment: confirm the level, or set another."""
        now = self.clock.now()
        async with self.sessionmaker.begin() as session:
            incident = await self.store.locked(session, incident_id)
            self._readable(principal, incident, incident_id)
            assert incident is not None
            policy = self.policies[incident.jurisdiction]
            is_assessor = principal.role is Role.ADMIN or principal.body_id in policy.assessors
            if not is_assessor or not may_act(principal):
                names = ", ".join(policy.assessors)
                raise Problem(403, f"only the leading group (or an admin) assesses: {names}")
            actor = principal.body_id or f"admin:{principal.name}"
            try:
                outcome = incident.assess(
                    body.decision, body.level, body.reason, actor=actor, policy=policy, now=now
                )
            except Refused as refused:
                raise _problem(refused) from refused
            await self._save(session, incident, outcome, now)
            return await self.to_out(session, incident)

    async def get(self, incident_id: str, *, principal: Principal) -> IncidentDetail:
        """An incident with its timeline: 404 if there is none, 403 if the caller may not
        read it."""
        async with self.sessionmaker() as session:
            incident = await session.get(Incident, incident_id)
            self._readable(principal, incident, incident_id)
            assert incident is not None
            entries = await self.store.timeline(
                session, incident_id, written=incident.timeline_entries
            )
            out = await self.to_out(session, incident)
        timeline = [
            TimelineOut(
                at=e.at, kind=e.kind, actor=e.actor, detail=e.detail, note=e.note and redact(e.note)
            )
            for e in entries
        ]
        return IncidentDetail(
            **out.model_dump(),
            timeline=timeline,
            timeline_intact=verify_chain(
                entries, head=incident.timeline_head, count=incident.timeline_entries
            ),
        )

    async def page(
        self,
        *,
        principal: Principal,
        limit: int,
        cursor: str | None,
        filters: dict[str, str | None],
        provisional: bool | None = None,
    ) -> tuple[list[IncidentOut], str | None]:
        """A page of the incidents the caller reads, newest first, and the next cursor."""
        filters = filters | {
            "jurisdiction": ensure_jurisdiction(principal, filters.get("jurisdiction"))
        }
        async with self.sessionmaker() as session:
            rows, after = await self.store.page(
                session,
                scope_of(principal),
                filters,
                cursor=cursor,
                limit=limit,
                provisional=provisional,
            )
            await self.store.read_reports(session, rows)
            return [await self.to_out(session, r) for r in rows], after

    async def open_warnings(self, *, principal: Principal, jurisdiction: str) -> OpenWarnings:
        """The open warnings the caller reads in a jurisdiction, per level and region."""
        jurisdiction = ensure_jurisdiction(principal, jurisdiction) or jurisdiction
        policy = self.policies.get(jurisdiction)
        if policy is None:
            raise Problem(422, f"unknown jurisdiction {jurisdiction!r}")
        async with self.sessionmaker() as session:
            rows = await self.store.open_levels(session, scope_of(principal), jurisdiction)
        by_level, by_region = open_warnings(rows, policy)
        return OpenWarnings.model_validate(
            {"jurisdiction": jurisdiction, "by_level": by_level, "by_region": by_region}
        )

    async def to_out(self, session: AsyncSession, incident: Incident) -> IncidentOut:
        """An incident as the API shows it."""
        report_ids = await self.store.report_ids(session, incident)
        return IncidentOut.model_validate(self.views.fields(incident, report_ids))

    # ------------------------------------------------------------------------ helpers

    def _readable(self, principal: Principal, incident: Incident | None, incident_id: str) -> None:
        item = None
        if incident is not None:
            item = Item(incident.jurisdiction, regions=incident.regions, bodies=incident.bodies)
        readable_or_403(principal, item, f"incident {incident_id}")

    async def _save(
        self, session: AsyncSession, incident: Incident, outcome: Outcome, now: dt.datetime
    ) -> None:
        """Append what happened to the timeline; publish the incident if it changed."""
        await self.store.record(session, incident, outcome, now)
        if not outcome.announce:
            return
        data = self.views.incident_data(incident, await self.store.report_ids(session, incident))
        if incident.kind == IncidentKind.CLUSTER:
            key = f"{incident.jurisdiction}:cluster"
        else:
            key = partition_key(
                incident.jurisdiction,
                credit_code=incident.credit_code,
                name=incident.enterprise_name,
                fallback=incident.id,
            )
        if outcome.warned:
            warning = self.views.warning(incident, outcome)
            event = IncidentWarning(incident=data, warning=warning).to_event(
                subject=incident.id, key=key
            )
        else:
            event = IncidentUpdated(incident=data).to_event(subject=incident.id, key=key)
        self.outbox.add(session, topic=IncidentWarning.topic, event_=event)


def _keys(report: ReportData) -> tuple[str | None, str | None]:
    """A report's code key and name key."""
    j, category, enterprise = report.jurisdiction, report.category, report.enterprise
    return code_key(j, category, enterprise.credit_code), name_key(j, category, enterprise.name)


def _figures_of(report: ReportData) -> Figures:
    return Figures.of(
        report,
        category=report.category,
        region=report.region,
        regions=report.affected_regions or [report.region],
        sources=[report.source],
    )


def _candidate(incident: Incident) -> ClusterCandidate:
    assert incident.last_report_at is not None
    return ClusterCandidate(
        incident_id=incident.id,
        regions=frozenset(incident.regions),
        workers_involved=incident.workers_involved,
        collective_action=CollectiveAction(incident.collective_action),
        last_report_at=incident.last_report_at,
    )


def _problem(refused: Refused) -> Problem:
    if refused.status != 422:
        return Problem(refused.status, str(refused))
    field = ".".join(refused.loc[1:])
    return Problem(
        422,
        f"{field}: {refused}",
        type_="https://laborwatch.org/problems/validation-error",
        title="Validation failed",
        errors=[{"loc": list(refused.loc), "msg": str(refused), "type": "value_error"}],
    )

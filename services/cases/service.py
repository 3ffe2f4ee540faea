"""The cases service's parts and what every handler does alike: the level's rules, who may
act, one step done in one transaction (the case, its step and its event, or nothing), and a
case opened or moved by a warning."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.access import Item, readable_or_403
from libs.common.auth import Principal, Role
from libs.common.clock import Clock
from libs.common.contracts import CaseEvent, IncidentData, IncidentWarning, partition_key
from libs.common.jurisdictions import Registry
from libs.common.outbox import Outbox
from libs.common.privacy import Cipher
from libs.common.problems import TYPE_BASE, Problem
from services.cases.case import Case, Level, Step
from services.cases.domain import Illegal, Rules
from services.cases.schemas import CaseOut
from services.cases.store import Store
from services.cases.views import data_of, out_of

SERVICE = "cases"

# What a step does to a case, given the level's rules and who acts; returns the step.
Do = Callable[[Case, Rules, str], Step]


@dataclass
class Cases:
    """The cases service's parts; handlers take it as their first argument."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    outbox: Outbox
    clock: Clock
    cipher: Cipher
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.cipher)

    # ------------------------------------------------------------------ policy, bodies

    def rules(self, jurisdiction: str, level: str | None) -> Rules:
        """The level's case rules, from the jurisdiction's YAML."""
        found = self.registry.get(jurisdiction)
        if found is None or level is None:
            return Rules()
        rule = found.cases.rule(level)
        return Rules(approver=rule.approver, government=rule.government)

    def body_ref(self, body_id: str) -> dict[str, str]:
        """A body by id and name."""
        found = self.registry.body(body_id)
        return {"body_id": body_id, "name": found[1].name if found else body_id}

    def above(self, body_id: str) -> set[str]:
        """The bodies above one in its escalation chain, external ones left out."""
        found, seen = self.registry.body(body_id), set[str]()
        while found is not None and found[1].parent and found[1].parent not in seen:
            jurisdiction, body = found[0], found[0].bodies_by_id[found[1].parent]
            if not body.external:
                seen.add(body.id)
            found = (jurisdiction, body)
        return seen

    def assessors(self, jurisdiction: str) -> set[str]:
        """The policy's assessors (the leading group)."""
        found = self.registry.get(jurisdiction)
        extra = (found.policy.model_extra or {}) if found else {}
        return set(extra.get("assessors") or ())

    def actors(self, case: Case) -> set[str]:
        """The bodies whose responders may act on a case."""
        return (
            {case.responsible_body}
            | self.above(case.responsible_body)
            | self.assessors(case.jurisdiction)
        )

    def readable(self, principal: Principal, case: Case | None, case_id: str) -> Case:
        """The case, if the caller reads it (404, 403 otherwise)."""
        item = None if case is None else Item(case.jurisdiction, case.regions, case.bodies)
        readable_or_403(principal, item, f"case {case_id}")
        assert case is not None
        return case

    # ------------------------------------------------------------------------ acting

    async def act(
        self,
        case_id: str,
        principal: Principal,
        may: Callable[[Case, Rules], bool],
        do: Do,
        *,
        why: str,
    ) -> CaseOut:
        """Do one step: read the case, check who acts, let the case check and take the step,
        write it (409 if someone else did meanwhile) and publish it; all or nothing."""
        async with self.sessionmaker.begin() as session:
            case = self.readable(principal, await self.store.get(session, case_id), case_id)
            rules = self.rules(case.jurisdiction, case.level)
            if not (principal.role is Role.ADMIN or may(case, rules)):
                raise Problem(403, why)
            try:
                step = do(case, rules, principal.actor)
            except Illegal as illegal:
                raise Problem(
                    409,
                    str(illegal),
                    type_=TYPE_BASE + "illegal-step",
                    allowed_steps=[a.value for a in illegal.allowed],
                ) from illegal
            await self.store.update(session, case, step)
            self.publish(session, case, step)
        return out_of(case, rules)

    def publish(self, session: AsyncSession, case: Case, step: Step) -> None:
        """The step's event (`laborwatch.case.v1`), through the outbox."""
        event = CaseEvent(
            step=step.step, at=step.at, by=step.by, summary_zh=step.summary_zh, case=data_of(case)
        )
        self.outbox.add(
            session,
            topic=CaseEvent.topic,
            event_=event.to_event(subject=case.id, key=case.event_key),
        )

    # ---------------------------------------------------------------- warnings arrive

    async def on_warning(self, session: AsyncSession, warning: IncidentWarning) -> None:
        """Open a case at an incident's first warning level; follow its level and routing."""
        incident, w = warning.incident, warning.warning
        case = await self.store.of_incident(session, incident.id)
        now = self.clock.now()
        routed = w.routed_to or incident.routed_to
        if case is None and (w.level is None or routed is None):
            return  # no level yet, or lifted before any case: nothing to handle
        body_id = routed.body_id if routed else case.responsible_body if case else ""
        name = self.body_ref(body_id)["name"]
        level = Level(w.level, w.level_label, w.level_rank, body_id, name, w.due_at)
        facts = incident_facts(incident)
        if case is None:
            case, step = Case.open(
                id=str(uuid.uuid4()), incident=facts, level=level, at=now, drill=w.drill
            )
            case.bodies = sorted(set(case.bodies) | {body_id})
            await self.store.insert(session, case, step)
            self.publish(session, case, step)
            return
        old, new = self.rules(case.jurisdiction, case.level), self.rules(case.jurisdiction, w.level)
        known = _known(case)
        followed = case.follow(level, old=old, new=new, incident=facts, at=now)
        case.bodies = sorted(set(case.bodies) | {case.responsible_body})
        if followed is None and _known(case) == known:
            return  # nothing new (the same warning again, or a level it already follows)
        await self.store.update(session, case, followed)
        if followed is not None:
            self.publish(session, case, followed)


def incident_facts(incident: IncidentData) -> dict[str, Any]:
    """What a case keeps of its incident: where it lies, and its structured fields (the
    form's draft is made of them; never of a reporter's or caller's free text)."""
    enterprise = incident.enterprise
    return {
        "id": incident.id,
        "jurisdiction": incident.jurisdiction,
        "regions": list(incident.regions),
        "bodies": list(incident.bodies),
        "event_key": partition_key(
            incident.jurisdiction,
            credit_code=enterprise.credit_code,
            name=enterprise.name,
            fallback=incident.id,
        ),
        "facts": {
            "enterprise_name": enterprise.name,
            "credit_code": enterprise.credit_code,
            "industry": enterprise.industry,
            "category": incident.category,
            "region": incident.region,
            "regions": list(incident.regions),
            "workers_involved": incident.workers_involved,
            "amount_yuan": str(incident.amount_yuan),
            "terminations": incident.terminations,
            "collective_action": incident.collective_action,
            "opened_at": _iso(incident.opened_at),
            "kind": incident.kind,
        },
    }


def _known(case: Case) -> tuple[Any, ...]:
    """What a warning may change in a case besides its level and body."""
    return dict(case.dues), list(case.regions), sorted(case.bodies), dict(case.facts)


def _iso(at: dt.datetime) -> str:
    return at.isoformat()

"""The `Incident` aggregate: its methods hold the rules of how an incident changes, and each
returns what happened (timeline entries, and the warning it issued, if any). Pure: the store
loads and saves it, the handlers publish what it says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.contracts import FIGURE_NAMES
from services.grading.domain import (
    Cluster,
    Figures,
    brings_new_facts,
    copies_for,
    grade,
    merge,
    route_for,
)
from services.grading.outcome import Happened, Outcome, Refused, changes_incident, notice_entry
from services.grading.policy import LevelRule, Policy
from services.grading.words import (
    INTAKE,
    POLICY,
    CollectiveAction,
    Decision,
    Entry,
    IncidentKind,
    IncidentStatus,
)


@dataclass(frozen=True)
class Enterprise:
    """Who an incident is about."""

    name: str | None
    credit_code: str | None
    industry: str | None


@dataclass(eq=False)
class Incident:
    """Reports on one enterprise and category (or a county cluster), with its warning level."""

    id: str
    jurisdiction: str
    policy: str
    kind: IncidentKind
    status: IncidentStatus
    code_key: str | None  # open incidents with a credit code: one per code and category
    correlation_key: str | None  # the name key (one open holder), or the cluster's key
    enterprise_name: str | None
    credit_code: str | None
    industry: str | None
    category: str | None  # None for a cluster: see `categories`
    categories: list[str]
    region: str | None  # the first report's region; None for a cluster: see `regions`
    regions: list[str]
    workers_involved: int = 0
    amount_yuan: Decimal = Decimal(0)
    terminations: int = 0
    collective_action: CollectiveAction = CollectiveAction.NONE
    extreme_individual: bool = False
    potential_major_impact: bool = False
    sources: list[str] = field(default_factory=list)
    level: str | None = None
    level_rank: int = 0
    reasons: list[str] = field(default_factory=list)
    reasons_zh: list[str] = field(default_factory=list)
    routed_to: str | None = None
    bodies: list[str] = field(default_factory=list)  # every body sent a notification of it
    issued_at: dt.datetime | None = None
    provisional: bool = False
    assessed: bool = False
    assessed_figures: dict[str, Any] | None = None  # the figures held at the assessment
    cluster_id: str | None = None
    member_ids: list[str] = field(default_factory=list)
    opened_at: dt.datetime | None = None
    last_report_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    drill: bool = False
    timeline_head: str | None = None  # the anchor of its timeline (services/grading/audit.py)
    timeline_entries: int = 0
    case_id: str | None = None  # its case (处置), once it had a warning level

    # ------------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        *,
        id: str,
        jurisdiction: str,
        policy: Policy,
        enterprise: Enterprise,
        figures: Figures,
        keys: tuple[str | None, str | None],
        now: dt.datetime,
        drill: bool,
    ) -> tuple[Incident, Outcome]:
        """A new incident on an enterprise, under its code key and name key."""
        incident = cls(
            id=id,
            jurisdiction=jurisdiction,
            policy=policy.id,
            kind=IncidentKind.SINGLE,
            status=IncidentStatus.OPEN,
            code_key=keys[0],
            correlation_key=keys[1],
            enterprise_name=enterprise.name,
            credit_code=enterprise.credit_code.upper() if enterprise.credit_code else None,
            industry=enterprise.industry,
            category=figures.category,
            categories=[figures.category],
            region=figures.region,
            regions=sorted(figures.regions),
            opened_at=now,
            last_report_at=now,
            updated_at=now,
            drill=drill,
        )
        detail = {"code_key": keys[0], "correlation_key": keys[1]}
        return incident, Outcome([Happened(Entry.OPENED, INTAKE, detail)])

    @classmethod
    def open_cluster(
        cls, *, id: str, jurisdiction: str, policy: Policy, key: str, now: dt.datetime, drill: bool
    ) -> tuple[Incident, Outcome]:
        """A new county cluster: it gathers members, then takes their figures."""
        cluster = cls(
            id=id,
            jurisdiction=jurisdiction,
            policy=policy.id,
            kind=IncidentKind.CLUSTER,
            status=IncidentStatus.OPEN,
            code_key=None,
            correlation_key=key,
            enterprise_name=None,
            credit_code=None,
            industry=None,
            category=None,
            categories=[],
            region=None,
            regions=[],
            collective_action=CollectiveAction.POSSIBLE,
            provisional=policy.provisional,
            opened_at=now,
            last_report_at=now,
            updated_at=now,
            drill=drill,
        )
        return cluster, Outcome([Happened(Entry.OPENED, POLICY, {"correlation_key": key})])

    # ------------------------------------------------------------------------ reports

    def figures(self) -> Figures:
        """The incident's figures, as grading reads them."""
        return Figures.of(
            self,
            category=self.category or "",
            region=self.region or "",
            regions=self.regions,
            sources=self.sources,
        )

    def adopt_code(self, credit_code: str, key: str) -> None:
        """Learn the credit code from a report that joined by name: from now on, a report
        with another code no longer joins."""
        self.credit_code, self.code_key = credit_code.upper(), key

    def add_report(
        self, report_id: str, figures: Figures, policy: Policy, now: dt.datetime
    ) -> Outcome:
        """Gather a report: merge its figures, then grade. A level rises by itself; after an
        assessment, only on new facts (a larger figure, a new flag) than it then held."""
        merged = merge(self.figures(), figures)
        self._take(merged)
        self.last_report_at = self.updated_at = now
        detail = {"report_id": report_id, "source": next(iter(figures.sources), None)}
        outcome = Outcome(
            [Happened(Entry.REPORT_ADDED, INTAKE, detail | {"figures": figures.as_dict()})],
            announce=True,
        )
        held = self.assessed_figures
        if self.assessed and held is not None and not brings_new_facts(held, merged):
            return outcome  # the assessment stands: nothing new to grade
        result = grade(policy, merged)
        if result.level is None or result.rank <= self.level_rank:
            same = result.level is not None and result.level.id == self.level
            if self.level is None or (same and not self.assessed):  # why, as figures grow
                self.reasons, self.reasons_zh = list(result.reasons), list(result.reasons_zh)
            return outcome
        self._issue(result.level, result.reasons, result.reasons_zh, policy, now, outcome)
        self.provisional, self.assessed = policy.provisional, False
        return outcome

    def _take(self, figures: Figures) -> None:
        # Only what changed: each attribute set on a mapped aggregate costs its history, and
        # most reports change one figure or none.
        for name in FIGURE_NAMES:
            value = getattr(figures, name)
            if getattr(self, name) != value:
                setattr(self, name, value)
        if len(figures.regions) != len(self.regions):
            self.regions = sorted(figures.regions)
        if len(figures.sources) != len(self.sources):
            self.sources = sorted(figures.sources)

    def _issue(
        self,
        level: LevelRule,
        reasons: Sequence[str],
        reasons_zh: Sequence[str],
        policy: Policy,
        now: dt.datetime,
        outcome: Outcome,
        *,
        actor: str = POLICY,
    ) -> None:
        """Raise the level (a warning): routed, copied, recorded."""
        outcome.warned, outcome.announce = True, True
        outcome.previous_level, outcome.previous_rank = self.level, self.level_rank
        self.level, self.level_rank = level.id, level.rank
        self.reasons, self.reasons_zh = list(reasons), list(reasons_zh)
        self.routed_to = route_for(level, self.region or _first(self.regions))
        self.issued_at = now
        self.send_to([self.routed_to, *self.copies(policy)])
        outcome.happened.append(
            Happened(
                Entry.LEVEL_RAISED,
                actor,
                {
                    "from": outcome.previous_level,
                    "to": level.id,
                    "reasons": self.reasons,
                    "routed_to": self.routed_to,
                },
            )
        )

    def copies(self, policy: Policy) -> list[str]:
        """The bodies the current level's warning is copied to."""
        if self.level is None:
            return []
        region = self.region or _first(self.regions)
        return copies_for(policy.level(self.level), region, self.regions)

    def send_to(self, body_ids: Sequence[str]) -> bool:
        """Remember bodies that hold a notification of the incident; say if any is new."""
        new = [b for b in body_ids if b not in self.bodies]
        if new:
            self.bodies = [*self.bodies, *new]
        return bool(new)

    # ------------------------------------------------------------------------- clusters

    def gather(
        self, found: Cluster, members: Sequence[Incident], policy: Policy, now: dt.datetime
    ) -> Outcome:
        """Take new members into a cluster: their figures add up; the cluster's level."""
        known = {m.id: m for m in members}
        new = [m for m in found.member_ids if m not in self.member_ids]
        if not new:
            return Outcome()
        self.member_ids = [*self.member_ids, *new]
        gathered = [known[m] for m in self.member_ids if m in known]
        self.regions = sorted(set(self.regions).union(*(m.regions for m in gathered)))
        self.categories = sorted(set(self.categories).union(*(m.categories for m in gathered)))
        self.workers_involved = max(
            self.workers_involved, sum(m.workers_involved for m in gathered)
        )
        total = sum((Decimal(m.amount_yuan) for m in gathered), Decimal(0))
        self.amount_yuan = max(Decimal(self.amount_yuan), total)
        self.terminations = max(self.terminations, sum(m.terminations for m in gathered))
        self.sources = sorted(set(self.sources).union(*(m.sources for m in gathered)))
        if any(m.collective_action == CollectiveAction.OCCURRED for m in gathered):
            self.collective_action = CollectiveAction.OCCURRED
        self.last_report_at = self.updated_at = now
        for member in gathered:
            member.cluster_id = self.id
        reasons, zh = list(found.reasons), list(found.reasons_zh)
        detail = {"member_ids": new, "reasons": reasons}
        outcome = Outcome([Happened(Entry.MEMBERS_ADDED, POLICY, detail)], announce=True)
        assert policy.cluster is not None
        level = policy.level(policy.cluster.level)
        if self.level_rank < level.rank:
            self._issue(level, reasons, zh, policy, now, outcome)
        self.reasons, self.reasons_zh = reasons, zh
        return outcome

    def quiet_since(self, now: dt.datetime, window: dt.timedelta) -> bool:
        """Say whether a cluster has gathered nothing for a whole window."""
        return self.last_report_at is not None and now - self.last_report_at > window

    def close(self, why: str, now: dt.datetime) -> Outcome:
        """Close the incident: it gathers nothing more."""
        self.status, self.closed_at, self.updated_at = IncidentStatus.CLOSED, now, now
        self.code_key = self.correlation_key = None
        return Outcome([Happened(Entry.CLOSED, POLICY, {"why": why})], announce=True)

    # ----------------------------------------------------------------------- assessment

    def assess(
        self,
        decision: Decision,
        level_id: str | None,
        reason: str | None,
        *,
        actor: str,
        policy: Policy,
        now: dt.datetime,
    ) -> Outcome:
        """The leading group's assessment: confirm the level, or set another (or none, with a
        reason). The level then stands until a report brings new facts."""
        if decision is Decision.SET_LEVEL:
            if not reason:
                raise Refused(422, "a changed level needs a reason", ("body", "reason"))
            if level_id is not None and level_id not in {lvl.id for lvl in policy.levels}:
                raise Refused(422, f"{level_id!r} is not a level of {policy.id}", ("body", "level"))
            if level_id == self.level:
                raise Refused(409, f"the incident is already at level {level_id}; use confirm")
        self.provisional, self.assessed, self.updated_at = False, True, now
        self.assessed_figures = self.figures().as_dict()
        if decision is Decision.CONFIRM:
            entry = Happened(Entry.ASSESSMENT_CONFIRMED, actor, {"level": self.level}, reason)
            return Outcome([entry], announce=True)
        outcome = Outcome(warned=True, announce=True, by_assessment=True)
        outcome.previous_level, outcome.previous_rank = self.level, self.level_rank
        self.reasons = [f"assessment: {reason} (领导小组评估)"]
        self.reasons_zh = [f"领导小组评估：{reason}"]
        self.issued_at = now
        if level_id is None:
            self.level, self.level_rank, self.routed_to = None, 0, None
        else:
            level = policy.level(level_id)
            self.level, self.level_rank = level.id, level.rank
            self.routed_to = route_for(level, self.region or _first(self.regions))
            self.send_to([self.routed_to, *self.copies(policy)])
        detail = {"from": outcome.previous_level, "to": self.level}
        outcome.happened.append(Happened(Entry.LEVEL_SET_BY_ASSESSMENT, actor, detail, reason))
        return outcome

    # ------------------------------------------------------------- what others tell us

    def noticed(self, kind: str, detail: dict[str, Any], note: str | None) -> Outcome:
        """What the notifier did; an escalation sends the incident to one more body."""
        escalated_to = detail.get("escalated_to")
        grew = (
            changes_incident(kind)
            and isinstance(escalated_to, str)
            and self.send_to([escalated_to])
        )
        return Outcome([notice_entry(kind, detail, note)], announce=grew)

    def revealed(self, *, report_id: str, by: str, reason: str, at: dt.datetime) -> Outcome:
        """Someone read a caller's data in clear to call back (回访): who, why, when."""
        detail = {"report_id": report_id, "by": by, "at": at.isoformat()}
        return Outcome([Happened(Entry.REPORT_REVEALED, by, detail, reason)])


def _first(regions: Sequence[str]) -> str | None:
    return regions[0] if regions else None

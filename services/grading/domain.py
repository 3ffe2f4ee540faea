"""Grading's rules, as pure functions over plain data: no I/O, no clock.

- `grade`: the level a policy gives an incident's figures, the reasons, and the bodies.
- `merge`: an incident's figures as reports arrive (the largest any report gives);
  `brings_new_facts`: whether a report says more than an assessment knew.
- `code_key`, `name_key`, `joins_by_name`: which open incident a report joins.
- `find_cluster`: a Xuan'en county cluster among open incidents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from libs.common.contracts import FIGURE_NAMES
from libs.common.enterprise import normalise_enterprise_name
from services.grading.policy import (
    FIGURE_LABELS,
    FLAG_LABELS,
    Condition,
    FlagCondition,
    LevelRule,
    Policy,
    Threshold,
)
from services.grading.words import CollectiveAction

ACTION_LABELS = {
    CollectiveAction.NONE: "无",
    CollectiveAction.POSSIBLE: "可能发生群体性事件或集体停工",
    CollectiveAction.OCCURRED: "已发生群体性事件或集体停工",
}
_COUNTS = ("workers_involved", "amount_yuan", "terminations", "regions_affected")
_FLAGS = ("extreme_individual", "potential_major_impact")


@dataclass(frozen=True)
class Figures:
    """What an incident shows: its figures and flags, merged over its reports."""

    category: str
    region: str
    regions: frozenset[str]
    workers_involved: int = 0
    amount_yuan: Decimal = Decimal(0)
    terminations: int = 0
    collective_action: CollectiveAction = CollectiveAction.NONE
    extreme_individual: bool = False
    potential_major_impact: bool = False
    sources: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        holder: Any,
        *,
        category: str,
        region: str,
        regions: Iterable[str],
        sources: Iterable[str],
    ) -> Figures:
        """Read each of `FIGURE_NAMES` from a report or an incident; the rest is given."""
        figures = {name: getattr(holder, name) for name in FIGURE_NAMES}
        figures["amount_yuan"] = Decimal(figures["amount_yuan"])
        figures["collective_action"] = CollectiveAction(figures["collective_action"])
        return cls(
            category=category,
            region=region,
            regions=frozenset(regions),
            sources=frozenset(sources),
            **figures,
        )

    @property
    def regions_affected(self) -> int:
        """How many regions the incident reaches."""
        return len(self.regions)

    @property
    def corroboration(self) -> int:
        """How many distinct sources reported it (信息多点交织印证)."""
        return len(self.sources)

    def value(self, figure: str) -> Decimal:
        """Return a figure by name."""
        return Decimal(getattr(self, figure))

    def as_dict(self) -> dict[str, Any]:
        """The figures as a timeline entry or a column keeps them (JSON)."""
        figures = {name: getattr(self, name) for name in FIGURE_NAMES}
        return figures | {
            "amount_yuan": str(self.amount_yuan),
            "collective_action": str(self.collective_action),
            "regions": sorted(self.regions),
        }


def merge(current: Figures, report: Figures) -> Figures:
    """Fold a report into an incident: the largest figure wins, regions and sources add up.

    Two channels reporting one dispute are not added together: it is one dispute.
    """
    return replace(
        current,
        regions=current.regions | report.regions,
        workers_involved=max(current.workers_involved, report.workers_involved),
        amount_yuan=max(current.amount_yuan, report.amount_yuan),
        terminations=max(current.terminations, report.terminations),
        collective_action=max(
            CollectiveAction(current.collective_action),
            CollectiveAction(report.collective_action),
            key=lambda a: a.order,
        ),
        extreme_individual=current.extreme_individual or report.extreme_individual,
        potential_major_impact=current.potential_major_impact or report.potential_major_impact,
        sources=current.sources | report.sources,
    )


def brings_new_facts(held: Mapping[str, Any], figures: Figures) -> bool:
    """Say whether figures go beyond what an incident held at its assessment (`held`, as
    `Figures.as_dict` wrote it): a larger figure, a flag it did not have, or collective
    action gone further. Only then may a report raise an assessed level again."""
    before = {
        "workers_involved": Decimal(held.get("workers_involved", 0)),
        "amount_yuan": Decimal(held.get("amount_yuan", "0")),
        "terminations": Decimal(held.get("terminations", 0)),
        "regions_affected": Decimal(len(held.get("regions", ()))),
    }
    if any(figures.value(name) > before[name] for name in _COUNTS):
        return True
    if any(getattr(figures, flag) and not held.get(flag, False) for flag in _FLAGS):
        return True
    action = CollectiveAction(held.get("collective_action", CollectiveAction.NONE))
    return CollectiveAction(figures.collective_action).order > action.order


@dataclass(frozen=True)
class Reason:
    """Why a level fired (or did not): as the rule says it, with the Chinese beside it
    (`workers_involved 35 >= 20 (涉及人数 35 ≥ 20 人)`), and in Chinese alone, for people."""

    text: str
    zh: str


def _rule(rule: str, zh: str) -> Reason:
    return Reason(f"{rule} ({zh})", zh)


def _said(zh: str) -> Reason:
    """A reason that is Chinese already."""
    return Reason(zh, zh)


@dataclass(frozen=True)
class Grade:
    """What the policy says of an incident: its level (or none), why, and where it goes."""

    level: LevelRule | None
    reasons: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    route: str | None = None
    copies: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """The level's rank; 0 below every level."""
        return self.level.rank if self.level else 0


def _graded(level: LevelRule | None, reasons: Sequence[Reason], figures: Figures) -> Grade:
    texts, zh = tuple(r.text for r in reasons), tuple(r.zh for r in reasons)
    if level is None:
        return Grade(None, texts, zh)
    route = route_for(level, figures.region)
    return Grade(level, texts, zh, route, tuple(copies_for(level, figures.region, figures.regions)))


def grade(policy: Policy, figures: Figures) -> Grade:
    """Give the most severe level whose conditions hold, with every condition that fired."""
    if not policy.in_scope(figures.category):
        why = f"类别 {figures.category} 不在 {policy.id} 预警范围内，不自动定级（可由领导小组启动）"
        return _graded(None, (_said(why),), figures)
    gate: tuple[Reason, ...] = ()
    if policy.requires is not None:
        if figures.collective_action not in policy.requires.collective_action:
            why = "未发生且不可能发生群体性事件或集体停工，不予预警"
            return _graded(None, (_said(why),), figures)
        action = CollectiveAction(figures.collective_action)  # the gate passed: on what
        gate = (_rule(f"collective_action {action}", ACTION_LABELS[action]),)
    for level in policy.by_severity:
        fired = [reason for c in level.when if (reason := explain(c, figures)) is not None]
        if fired:
            return _graded(level, (*gate, *fired), figures)
    return _graded(None, (_said("未达到任何预警等级"),), figures)


def route_for(level: LevelRule, region: str | None) -> str:
    """The body a level goes to, for an incident in a region."""
    return level.route.replace("{region}", region or "")


def copies_for(level: LevelRule, region: str | None, regions: Iterable[str]) -> list[str]:
    """The bodies a level's warning is copied to: each named copy, and one per affected region
    other than the incident's own; never the body it is routed to, nor one twice."""
    route = route_for(level, region)
    found: list[str] = []
    for copy in level.copies:
        if isinstance(copy, str):
            bodies = [copy.replace("{region}", region or "")]
        else:
            pattern = copy.each_affected_region
            bodies = [pattern.replace("{region}", r) for r in sorted(regions) if r != region]
        found += [b for b in bodies if b != route and b not in found]
    return found


def explain(condition: Condition, figures: Figures) -> Reason | None:
    """Say why a condition holds (rule and figure), or None if it does not."""
    if isinstance(condition, Threshold):
        value, figure = figures.value(condition.figure), condition.figure
        label, unit = FIGURE_LABELS[figure]
        if condition.at_least is not None and value >= condition.at_least:
            bound = _n(condition.at_least)
            return _rule(
                f"{figure} {_n(value)} >= {bound}", f"{label} {_n(value)} ≥ {bound} {unit}"
            )
        if condition.more_than is not None and value > condition.more_than:
            bound = _n(condition.more_than)
            return _rule(f"{figure} {_n(value)} > {bound}", f"{label} {_n(value)} > {bound} {unit}")
        return None
    if isinstance(condition, FlagCondition):
        flag = condition.flag
        return _rule(flag, FLAG_LABELS[flag]) if getattr(figures, flag) else None
    parts = [explain(c, figures) for c in condition.all]
    if all(p is not None for p in parts):
        fired = [p for p in parts if p is not None]
        return Reason(" and ".join(p.text for p in fired), "，且".join(p.zh for p in fired))
    return None


def _n(value: Decimal) -> str:
    """A figure as people write it: 5000000, 1200000.5, 35."""
    return f"{value.normalize():f}"


# ------------------------------------------------------------------------------ correlation


def code_key(jurisdiction: str, category: str, credit_code: str | None) -> str | None:
    """The key of an enterprise's open incident by its credit code; None without one."""
    if not credit_code:
        return None
    return f"{jurisdiction}|code:{credit_code.upper()}|{category}"


def name_key(jurisdiction: str, category: str, name: str | None) -> str | None:
    """The key of an enterprise's open incident by its normalised name; None without one."""
    normalised = normalise_enterprise_name(name or "")
    return f"{jurisdiction}|name:{normalised}|{category}" if normalised else None


def cluster_key(jurisdiction: str) -> str:
    """The key of a jurisdiction's open county cluster: one at a time."""
    return f"{jurisdiction}|cluster"


def joins_by_name(report_code: str | None, incident_code: str | None) -> bool:
    """Say whether a report joins an open incident of its enterprise's normalised name: only
    if either side has no credit code (two different codes never join, whatever the name)."""
    return not (report_code and incident_code) or report_code.upper() == incident_code.upper()


# ------------------------------------------------------------------------------- clusters


@dataclass(frozen=True)
class ClusterCandidate:
    """An open incident that may belong to a county cluster."""

    incident_id: str
    regions: frozenset[str]
    workers_involved: int
    collective_action: CollectiveAction
    last_report_at: dt.datetime


@dataclass(frozen=True)
class Cluster:
    """Incidents that together make one county-level warning."""

    member_ids: tuple[str, ...]
    regions: frozenset[str]
    workers_involved: int
    reasons: tuple[str, ...]
    reasons_zh: tuple[str, ...]


def find_cluster(
    policy: Policy,
    candidates: Sequence[ClusterCandidate],
    *,
    now: dt.datetime,
    window: dt.timedelta,
) -> Cluster | None:
    """Find the cluster the policy defines among open incidents, if there is one.

    Members: incidents with collective action (possible or occurred) whose last report is
    within the window. A cluster needs enough of them, across enough regions, with enough
    workers together.
    """
    rule = policy.cluster
    if rule is None:
        return None
    members = sorted(
        (
            c
            for c in candidates
            if c.collective_action != CollectiveAction.NONE and now - c.last_report_at <= window
        ),
        key=lambda c: c.incident_id,
    )
    regions = frozenset().union(*(c.regions for c in members)) if members else frozenset()
    workers = sum(c.workers_involved for c in members)
    if (
        len(members) < rule.min_incidents
        or len(regions) < rule.min_regions
        or workers < rule.min_workers
    ):
        return None
    n, r = len(members), len(regions)
    reasons = (
        _rule(
            f"cluster: {n} incidents >= {rule.min_incidents}",
            f"{n} 起群体性事件或集体停工风险 ≥ {rule.min_incidents}",
        ),
        _rule(
            f"regions_affected {r} >= {rule.min_regions}", f"涉及乡镇 {r} ≥ {rule.min_regions} 个"
        ),
        _rule(
            f"workers_involved {workers} >= {rule.min_workers}",
            f"合计涉及人数 {workers} ≥ {rule.min_workers} 人",
        ),
    )
    ids = tuple(c.incident_id for c in members)
    texts, zh = tuple(r.text for r in reasons), tuple(r.zh for r in reasons)
    return Cluster(ids, regions, workers, texts, zh)

"""Grading's rules, as pure functions over plain data: no I/O, no clock.

- `grade`: the level a policy gives an incident's figures, the reasons, and the body.
- `merge`: an incident's figures as reports arrive (the largest any report gives).
- `correlation_key`: which open incident a report joins.
- `find_cluster`: a Xuan'en county cluster among open incidents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

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

_ACTION_ORDER = {"none": 0, "possible": 1, "occurred": 2}
ACTION_LABELS = {
    "none": "无",
    "possible": "可能发生群体性事件或集体停工",
    "occurred": "已发生群体性事件或集体停工",
}


@dataclass(frozen=True)
class Figures:
    """What an incident shows: its figures and flags, merged over its reports."""

    category: str
    region: str
    regions: frozenset[str]
    workers_involved: int = 0
    amount_yuan: Decimal = Decimal(0)
    terminations: int = 0
    collective_action: str = "none"
    extreme_individual: bool = False
    potential_major_impact: bool = False
    sources: frozenset[str] = field(default_factory=frozenset)

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
            current.collective_action, report.collective_action, key=_ACTION_ORDER.__getitem__
        ),
        extreme_individual=current.extreme_individual or report.extreme_individual,
        potential_major_impact=current.potential_major_impact or report.potential_major_impact,
        sources=current.sources | report.sources,
    )


@dataclass(frozen=True)
class Grade:
    """What the policy says of an incident: its level (or none), why, and where it goes."""

    level: LevelRule | None
    reasons: tuple[str, ...]
    route: str | None = None
    copies: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """The level's rank; 0 below every level."""
        return self.level.rank if self.level else 0


def grade(policy: Policy, figures: Figures) -> Grade:
    """Give the most severe level whose conditions hold, with every condition that fired."""
    if not policy.in_scope(figures.category):
        return Grade(
            None,
            (
                f"类别 {figures.category} 不在 {policy.id} 预警范围内，"
                "不自动定级（可由领导小组启动）",
            ),
        )
    if (
        policy.requires is not None
        and figures.collective_action not in policy.requires.collective_action
    ):
        return Grade(None, ("未发生且不可能发生群体性事件或集体停工，不予预警",))
    gate: tuple[str, ...] = ()
    if policy.requires is not None:  # say that the gate passed, and on what
        gate = (
            f"collective_action {figures.collective_action} "
            f"({ACTION_LABELS[figures.collective_action]})",
        )
    for level in policy.by_severity:
        fired = [reason for c in level.when if (reason := explain(c, figures)) is not None]
        if fired:
            return Grade(level, (*gate, *fired), route_for(level, figures.region), level.copies)
    return Grade(None, ("未达到任何预警等级",))


def route_for(level: LevelRule, region: str) -> str:
    """The body a level goes to, for an incident in a region."""
    return level.route.replace("{region}", region)


def explain(condition: Condition, figures: Figures) -> str | None:
    """Say why a condition holds (rule and figure), or None if it does not."""
    if isinstance(condition, Threshold):
        value = figures.value(condition.figure)
        label, unit = FIGURE_LABELS[condition.figure]
        if condition.at_least is not None and value >= condition.at_least:
            return (
                f"{condition.figure} {_n(value)} >= {_n(condition.at_least)} "
                f"({label} {_n(value)} ≥ {_n(condition.at_least)} {unit})"
            )
        if condition.more_than is not None and value > condition.more_than:
            return (
                f"{condition.figure} {_n(value)} > {_n(condition.more_than)} "
                f"({label} {_n(value)} > {_n(condition.more_than)} {unit})"
            )
        return None
    if isinstance(condition, FlagCondition):
        return (
            f"{condition.flag} ({FLAG_LABELS[condition.flag]})"
            if getattr(figures, condition.flag)
            else None
        )
    parts = [explain(c, figures) for c in condition.all]
    if all(p is not None for p in parts):
        return " and ".join(p for p in parts if p is not None)
    return None


def _n(value: Decimal) -> str:
    """A figure as people write it: 5000000, 1200000.5, 35."""
    return f"{value.normalize():f}"


def correlation_key(
    *, jurisdiction: str, credit_code: str | None, name: str | None, category: str
) -> str | None:
    """The key under which reports join one open incident; None if the enterprise is unknown."""
    if credit_code:
        who = f"code:{credit_code.upper()}"
    else:
        normalised = normalise_enterprise_name(name or "")
        if not normalised:
            return None
        who = f"name:{normalised}"
    return f"{jurisdiction}|{who}|{category}"


@dataclass(frozen=True)
class ClusterCandidate:
    """An open incident that may belong to a county cluster."""

    incident_id: str
    regions: frozenset[str]
    workers_involved: int
    collective_action: str
    last_report_at: dt.datetime


@dataclass(frozen=True)
class Cluster:
    """Incidents that together make one county-level warning."""

    member_ids: tuple[str, ...]
    regions: frozenset[str]
    workers_involved: int
    reasons: tuple[str, ...]


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
            if c.collective_action in ("possible", "occurred") and now - c.last_report_at <= window
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
    reasons = (
        f"cluster: {len(members)} incidents >= {rule.min_incidents} "
        f"({len(members)} 起群体性事件或集体停工风险 ≥ {rule.min_incidents})",
        f"regions_affected {len(regions)} >= {rule.min_regions} "
        f"(涉及乡镇 {len(regions)} ≥ {rule.min_regions} 个)",
        f"workers_involved {workers} >= {rule.min_workers} "
        f"(合计涉及人数 {workers} ≥ {rule.min_workers} 人)",
    )
    return Cluster(tuple(c.incident_id for c in members), regions, workers, reasons)

"""How an incident is shown: to the API (`IncidentOut`) and in events (`IncidentData`,
`WarningData`), from one set of fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from libs.common.clock import Clock
from libs.common.contracts import FIGURE_NAMES, BodyRef, IncidentData, WarningData
from libs.common.jurisdictions import Registry
from services.grading.incident import Incident
from services.grading.outcome import Outcome
from services.grading.policy import Policy


@dataclass(frozen=True)
class Views:
    """Renders incidents and warnings with the names of bodies and levels."""

    registry: Registry
    policies: dict[str, Policy]
    clock: Clock

    def body(self, body_id: str | None) -> BodyRef | None:
        """A body by id, with its name."""
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

    def fields(self, incident: Incident, report_ids: list[str]) -> dict[str, Any]:
        """Every field an incident shows (the API's and the events' alike)."""
        label = None
        if incident.level is not None:
            label = self.policies[incident.jurisdiction].level(incident.level).label
        return {
            "id": incident.id,
            "jurisdiction": incident.jurisdiction,
            "policy": incident.policy,
            "kind": incident.kind,
            "status": incident.status,
            "level": incident.level,
            "level_label": label,
            "level_rank": incident.level_rank,
            "provisional": incident.provisional,
            "reasons": incident.reasons,
            "reasons_zh": incident.reasons_zh,
            "routed_to": self.body(incident.routed_to),
            "issued_at": incident.issued_at,
            "report_ids": report_ids,
            "member_ids": incident.member_ids,
            "cluster_id": incident.cluster_id,
            "corroboration": len(incident.sources),
            "sources": incident.sources,
            "enterprise": {
                "name": incident.enterprise_name,
                "credit_code": incident.credit_code,
                "industry": incident.industry,
            },
            "category": incident.category,
            "categories": incident.categories,
            "region": incident.region,
            "regions": incident.regions,
            **{name: getattr(incident, name) for name in FIGURE_NAMES},
            "amount_yuan": Decimal(incident.amount_yuan),
            "opened_at": incident.opened_at,
            "updated_at": incident.updated_at,
            "closed_at": incident.closed_at,
            "bodies": incident.bodies,
            "drill": incident.drill,
            "case_id": incident.case_id,
        }

    def incident_data(self, incident: Incident, report_ids: list[str]) -> IncidentData:
        """The incident as events carry it."""
        return IncidentData.model_validate(self.fields(incident, report_ids))

    def warning(self, incident: Incident, outcome: Outcome) -> WarningData:
        """The warning as issued: its level and, frozen, the limits and chain in force."""
        policy = self.policies[incident.jurisdiction]
        common: dict[str, Any] = {
            "level": incident.level,
            "previous_level": outcome.previous_level,
            "previous_level_rank": outcome.previous_rank,
            "policy": policy.id,
            "reasons": incident.reasons,
            "reasons_zh": incident.reasons_zh,
            "drill": incident.drill,
            "issued_at": incident.issued_at,
            "by_assessment": outcome.by_assessment,
        }
        if incident.level is None:
            return WarningData(**common, lifted=True)
        level = policy.level(incident.level)
        limit = self.clock.scaled(level.limit)
        assert incident.issued_at is not None and incident.routed_to is not None
        return WarningData(
            **common,
            level_label=level.label,
            level_rank=level.rank,
            routed_to=self.body(incident.routed_to),
            copies=[b for c in incident.copies(policy) if (b := self.body(c)) is not None],
            reporting_limit=iso_duration(level.limit),
            reporting_limit_seconds=limit.total_seconds(),
            due_at=incident.issued_at + limit,
            escalation_chain=self.escalation_chain(incident.routed_to),
        )


def open_warnings(
    rows: list[tuple[str, int, list[str]]], policy: Policy
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Open warnings counted per level of the policy, and each region's most severe one."""
    by_level = {lvl.id: 0 for lvl in policy.levels}
    by_region: dict[str, dict[str, Any]] = {}
    for level, rank, regions in rows:
        by_level[level] = by_level.get(level, 0) + 1
        for region in regions:
            if rank > by_region.get(region, {}).get("level_rank", 0):
                label = policy.level(level).label
                by_region[region] = {"level": level, "level_label": label, "level_rank": rank}
    return by_level, by_region


def iso_duration(delta: dt.timedelta) -> str:
    """A duration as ISO 8601 writes it: PT6H, P1D, PT0S."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if seconds else "PT0S"

"""What the notifier learns from events: the warnings it must deliver.

A warning makes one notification per body (the responsible body, and a copy to each body the
policy copies), and closes what was still pending for the incident's earlier level: replaced
by the higher level (`superseded`), or by the leading group's lower level or lift (`lifted`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import IncidentData, IncidentWarning, WarningData, partition_key
from libs.common.events import INCIDENT_WARNING, CloudEvent
from services.notifier.domain import Kind, Notice, Notification, replaced_by
from services.notifier.service import Notifier


def read_warning(event: CloudEvent) -> IncidentWarning | None:
    """The warning an event carries; None for an incident's update (`IncidentUpdated`)."""
    if event.type != IncidentWarning.type_:
        return None
    return IncidentWarning.of(event)


def replaces_earlier(warning: WarningData) -> bool:
    """Say whether a warning may replace notifications of the incident's earlier level."""
    return warning.previous_level is not None or warning.by_assessment or warning.level is None


async def prepare(
    notifier: Notifier, session: AsyncSession, warnings: Sequence[tuple[str, IncidentWarning]]
) -> None:
    """Read in a few statements what a batch of (event id, warning) will need."""
    bodies: list[str] = []
    for _, w in warnings:
        if w.warning.routed_to is not None:
            bodies.append(w.warning.routed_to.body_id)
        bodies.extend(copy.body_id for copy in w.warning.copies)
    await notifier.store.prefetch(
        session,
        warning_ids=[event_id for event_id, _ in warnings],
        incident_ids=[w.incident.id for _, w in warnings if replaces_earlier(w.warning)],
        body_ids=bodies,
    )


async def on_warning(
    notifier: Notifier, session: AsyncSession, event_id: str, warning: IncidentWarning
) -> None:
    """Close what the warning replaces; notify the responsible body and the copies."""
    incident, w = warning.incident, warning.warning
    now = notifier.clock.now()
    rank = level_rank(notifier, incident, w)
    if replaces_earlier(w):
        for n in await notifier.store.pending_of(session, incident.id):
            reason = replaced_by(
                n.level_rank,
                new_rank=rank,
                previous_rank=w.previous_level_rank,
                by_assessment=w.by_assessment or w.level is None,
            )
            if n.warning_id != event_id and reason and n.close(reason, at=now):
                notifier.store.save(session, n)
                notifier.announce(session, n, "closed")
    if w.level is None or w.routed_to is None or w.issued_at is None:
        return  # lifted: nothing more to deliver
    notice = notice_of(incident, w, rank)
    targets = [(w.routed_to.body_id, Kind.RESPONSIBLE)]
    targets += [(copy.body_id, Kind.COPY) for copy in w.copies]
    for body_id, kind in targets:
        if await notifier.store.exists(session, event_id, body_id):
            continue  # made before (a redelivery, or another replica)
        made = Notification.issue(
            notice,
            warning_id=event_id,
            body_id=body_id,
            kind=kind,
            chain=w.escalation_chain,
            fractions=notifier.reminder_fractions,
            now=now,
        )
        await notifier.issue(session, made, now=now)


def level_rank(notifier: Notifier, incident: IncidentData, w: WarningData) -> int:
    """The warning level's rank (0: lifted), from the warning or else the policy's levels."""
    if w.level is None:
        return 0
    if w.level_rank:
        return w.level_rank
    jurisdiction = notifier.registry.get(incident.jurisdiction)
    levels = jurisdiction.policy.levels if jurisdiction else ()
    return next((level.rank for level in levels if level.id == w.level), 0)


def notice_of(incident: IncidentData, w: WarningData, rank: int) -> Notice:
    """What the warning tells each body it goes to."""
    assert w.level is not None and w.issued_at is not None
    enterprise = incident.enterprise
    return Notice(
        incident_id=incident.id,
        jurisdiction=incident.jurisdiction,
        level=w.level,
        level_label=w.level_label or w.level,
        level_rank=rank,
        policy=w.policy,
        issued_at=w.issued_at,
        limit_seconds=w.reporting_limit_seconds or 0.0,
        summary={
            "enterprise": enterprise.name,
            "credit_code": enterprise.credit_code,
            "category": incident.category,
            "categories": incident.categories,
            "regions": incident.regions,
            "workers_involved": incident.workers_involved,
            "amount_yuan": str(incident.amount_yuan),
            "terminations": incident.terminations,
            "collective_action": incident.collective_action,
            "reasons": w.reasons,
            "reasons_zh": w.reasons_zh or incident.reasons_zh,
            "kind": incident.kind,
        },
        regions=list(incident.regions),
        event_key=partition_key(
            incident.jurisdiction,
            credit_code=enterprise.credit_code,
            name=enterprise.name,
            fallback=incident.id,
        ),
        drill=w.drill,
    )


def consumers(notifier: Notifier) -> list[Consumer]:
    """The notifier's consumers."""

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        warnings = [(e.id, w) for e in events if (w := read_warning(e)) is not None]
        await prepare(notifier, session, warnings)
        for event_id, warning in warnings:
            await on_warning(notifier, session, event_id, warning)

    return [Consumer(name="notifier.warnings", topics=(INCIDENT_WARNING,), apply=apply)]

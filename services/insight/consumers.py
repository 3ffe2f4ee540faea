"""What insight learns from events: every topic feeds its read model.

Each fact is keyed by its id and upserted, and the consumer records each event it applied
(libs.common.consumer), so a redelivered event counts once. A batch of events is tallied in
memory over the rows it touches and written in a few statements (services.insight.tally).
Types a topic carries that insight does not count (a reveal, a review meeting) are passed over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import (
    CaseEvent,
    IncidentUpdated,
    IncidentWarning,
    MonitoringAlert,
    NotificationEvent,
    ReportReceived,
)
from libs.common.events import CloudEvent
from libs.common.jurisdictions import Registry
from services.insight import store
from services.insight.domain import local_day
from services.insight.tally import Tally

CONSUMER = "insight.events"
TOPICS = (
    ReportReceived.topic,
    IncidentWarning.topic,
    NotificationEvent.topic,
    CaseEvent.topic,
    MonitoringAlert.topic,
)


Fact = (
    ReportReceived
    | IncidentWarning
    | IncidentUpdated
    | NotificationEvent
    | CaseEvent
    | MonitoringAlert
)
_TYPES: dict[str, type[Fact]] = {
    t.type_: t
    for t in (
        ReportReceived,
        IncidentWarning,
        IncidentUpdated,
        NotificationEvent,
        CaseEvent,
        MonitoringAlert,
    )
}


def consumer(registry: Registry) -> Consumer:
    """Insight's one consumer, over every topic: a batch of events is read, tallied and
    written together (services.insight.tally)."""

    def zone(jurisdiction: str) -> str:
        found = registry.get(jurisdiction)
        return found.timezone if found else "Asia/Shanghai"

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        facts = [_TYPES[e.type].of(e) for e in events if e.type in _TYPES]
        tally = Tally(await store.known_rows(session, _ids(facts)))
        for fact in facts:
            _count(tally, fact, zone)
        await store.write(session, tally)

    return Consumer(name=CONSUMER, topics=TOPICS, apply=apply)


def _ids(facts: list[Fact]) -> dict[str, set[str]]:
    """The ids, by table, of the facts the events are about."""
    ids: dict[str, set[str]] = {
        name: set() for name in ("reports", "incidents", "notifications", "alerts")
    }
    for fact in facts:
        match fact:
            case ReportReceived():
                ids["reports"].add(fact.report.id)
            case IncidentWarning() | IncidentUpdated():
                ids["incidents"].add(fact.incident.id)
            case NotificationEvent():
                ids["notifications"].add(fact.notification.id)
            case MonitoringAlert():
                ids["alerts"].add(fact.alert.id)
    return ids


def _count(tally: Tally, fact: Fact, zone: Callable[[str], str]) -> None:
    """Apply one event to the tally."""
    match fact:
        case ReportReceived():
            r = fact.report
            day = local_day(r.received_at, zone(r.jurisdiction))
            row = {"id": r.id, "jurisdiction": r.jurisdiction, "day": day, "region": r.region}
            tally.report(row | {"source": r.source, "category": r.category})
        case IncidentWarning() | IncidentUpdated():
            warning = fact.warning if isinstance(fact, IncidentWarning) else None
            tally.incident(fact.incident, warning, zone(fact.incident.jurisdiction))
        case NotificationEvent():
            tally.notification(_notification(fact, zone))
        case CaseEvent():
            tally.case(_case(fact, zone))
        case MonitoringAlert():
            a = fact.alert
            tally.alert(
                {
                    "id": a.id,
                    "jurisdiction": a.jurisdiction,
                    "day": local_day(a.created_at, zone(a.jurisdiction)),
                    "region": a.region,
                    "credit_code": a.credit_code,
                    "enterprise_name": a.enterprise.name,
                    "kind": a.kind,
                    "indicator": a.indicator,
                }
            )


def _notification(event: NotificationEvent, zone: Callable[[str], str]) -> dict[str, Any]:
    n = event.notification
    return {
        "id": n.id,
        "jurisdiction": n.jurisdiction,
        "incident_id": n.incident_id,
        "body_id": n.body_id,
        "kind": n.kind,
        "due_at": n.due_at,
        "due_day": local_day(n.due_at, zone(n.jurisdiction)) if n.due_at else None,
        "status": n.status,
        "acknowledged_at": n.acknowledged_at,
        "closed_at": n.closed_at,
    }


def _case(event: CaseEvent, zone: Callable[[str], str]) -> dict[str, Any]:
    c = event.case
    tz = zone(c.jurisdiction)
    closed_at = c.closed.at if c.closed else None
    return {
        "id": c.id,
        "incident_id": c.incident_id,
        "jurisdiction": c.jurisdiction,
        "opened_at": c.opened_at,
        "opened_day": local_day(c.opened_at, tz),
        "closed_at": closed_at,
        "closed_day": local_day(closed_at, tz) if closed_at else None,
        "status": c.status,
        "responsible_body": c.responsible_body.body_id,
        "handling_unit": c.plan.handling_unit.name if c.plan else None,
        "resolution": c.closed.resolution if c.closed else None,
    }

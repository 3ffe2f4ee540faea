"""What insight learns from events: every topic feeds its read model.

Each fact is keyed by its id and upserted, and the consumer records each event it applied
(libs.common.consumer), so a redelivered event counts once. Types a topic carries that insight
does not count (a reveal, a review meeting) are passed over.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
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

CONSUMER = "insight.events"
TOPICS = (
    ReportReceived.topic,
    IncidentWarning.topic,
    NotificationEvent.topic,
    CaseEvent.topic,
    MonitoringAlert.topic,
)


def consumer(registry: Registry) -> Consumer:
    """Insight's one consumer, over every topic."""

    def zone(jurisdiction: str) -> str:
        found = registry.get(jurisdiction)
        return found.timezone if found else "Asia/Shanghai"

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == ReportReceived.type_:
            r = ReportReceived.of(event).report
            day = local_day(r.received_at, zone(r.jurisdiction))
            row = {"id": r.id, "jurisdiction": r.jurisdiction, "day": day, "region": r.region}
            await store.put_report(session, row | {"source": r.source, "category": r.category})
        elif event.type in (IncidentWarning.type_, IncidentUpdated.type_):
            typed = (
                IncidentWarning.of(event)
                if event.type == IncidentWarning.type_
                else IncidentUpdated.of(event)
            )
            tz = zone(typed.incident.jurisdiction)
            await store.put_incident(session, typed.incident, typed.warning, tz)
        elif event.type == NotificationEvent.type_:
            await _notification(session, NotificationEvent.of(event), zone)
        elif event.type == CaseEvent.type_:
            await _case(session, CaseEvent.of(event), zone)
        elif event.type == MonitoringAlert.type_:
            a = MonitoringAlert.of(event).alert
            await store.put_alert(
                session,
                {
                    "id": a.id,
                    "jurisdiction": a.jurisdiction,
                    "day": local_day(a.created_at, zone(a.jurisdiction)),
                    "region": a.region,
                    "credit_code": a.credit_code,
                    "enterprise_name": a.enterprise.name,
                    "kind": a.kind,
                    "indicator": a.indicator,
                },
            )

    return Consumer(name=CONSUMER, topics=TOPICS, apply=each(handle))


async def _notification(
    session: AsyncSession, event: NotificationEvent, zone: Callable[[str], str]
) -> None:
    n = event.notification
    await store.put_notification(
        session,
        {
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
        },
    )


async def _case(session: AsyncSession, event: CaseEvent, zone: Callable[[str], str]) -> None:
    c = event.case
    tz = zone(c.jurisdiction)
    closed_at = c.closed.at if c.closed else None
    await store.put_case(
        session,
        {
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
        },
    )

"""What sharing learns from events: warnings, closings, case closings and monitoring alerts.

A consumer group of its own (`notifier.sharing`), apart from the bodies' warnings: partners
never slow a body's warning. Each matching (subscription, event) becomes one pending delivery,
in the transaction that records the event as processed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import CaseEvent, IncidentUpdated, IncidentWarning, MonitoringAlert
from libs.common.events import CASE, INCIDENT_WARNING, MONITORING_ALERT, CloudEvent
from services.notifier.sharing import domain
from services.notifier.sharing.service import Sharing, interest_of
from services.notifier.sharing.tables import SharedDelivery, SharedEvent, Subscription
from services.notifier.tables import Notification


async def shared_of(session: AsyncSession, event: CloudEvent) -> domain.Shared | None:
    """The event as partners would receive it; None if it is nothing partners are told."""
    if event.type == IncidentWarning.type_:
        return domain.of_warning(event.id, event.time, IncidentWarning.of(event))
    if event.type == IncidentUpdated.type_:
        return domain.of_update(event.id, event.time, IncidentUpdated.of(event))
    if event.type == CaseEvent.type_:
        case = CaseEvent.of(event)
        if case.step != "closed":
            return None
        categories = await incident_categories(session, case.case.incident_id)
        return domain.of_case(event.id, event.time, case, categories=categories)
    if event.type == MonitoringAlert.type_:
        return domain.of_alert(event.id, event.time, MonitoringAlert.of(event))
    return None


async def incident_categories(session: AsyncSession, incident_id: str) -> list[str]:
    """An incident's categories, as its notifications keep them (a case names none)."""
    summary = await session.scalar(
        select(Notification.summary).where(Notification.incident_id == incident_id).limit(1)
    )
    if not summary:
        return []
    found = summary.get("categories") or [summary.get("category")]
    return [c for c in found if isinstance(c, str)]


async def enqueue(sharing: Sharing, session: AsyncSession, shared: Sequence[domain.Shared]) -> int:
    """Queue one delivery per (subscription, event) that matches; return how many."""
    subs = list((await session.scalars(select(Subscription))).all())
    now = sharing.clock.now()
    queued = 0
    for item in shared:
        wanting = [s for s in subs if interest_of(s).wants(item)]
        if not wanting:
            continue
        if await session.get(SharedEvent, item.event_id) is None:
            session.add(
                SharedEvent(
                    event_id=item.event_id,
                    name=item.name,
                    subject=item.subject,
                    body=item.body().decode(),
                    created_at=now,
                )
            )
        for sub in wanting:
            session.add(
                SharedDelivery(
                    subscription_id=sub.id,
                    event_id=item.event_id,
                    name=item.name,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    give_up_at=now + sharing.retries.window,
                    created_at=now,
                )
            )
            queued += 1
    return queued


def consumers(sharing: Sharing) -> list[Consumer]:
    """Sharing's consumer."""

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        shared = [s for e in events if (s := await shared_of(session, e)) is not None]
        if shared:
            await enqueue(sharing, session, shared)

    topics = (INCIDENT_WARNING, CASE, MONITORING_ALERT)
    return [Consumer(name="notifier.sharing", topics=topics, apply=apply)]

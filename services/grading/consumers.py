"""What grading learns from events: reports to grade, and what the notifier did."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
from libs.common.events import NOTIFICATION, REPORT_RECEIVED, CloudEvent
from services.grading.service import Grading


def consumers(grading: Grading) -> list[Consumer]:
    """Grading's consumers."""

    async def on_report(session: AsyncSession, event: CloudEvent) -> None:
        await grading.on_report(session, event.data["report"])

    async def prepare_reports(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await grading.prepare_reports(session, [e.data["report"] for e in events])

    async def on_notification(session: AsyncSession, event: CloudEvent) -> None:
        await grading.on_notification(session, event.data)

    async def prepare_notifications(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await grading.prepare_notifications(session, [e.data for e in events])

    return [
        Consumer(
            name="grading.reports",
            topics=(REPORT_RECEIVED,),
            apply=each(on_report, prepare=prepare_reports),
        ),
        Consumer(
            name="grading.notifications",
            topics=(NOTIFICATION,),
            apply=each(on_notification, prepare=prepare_notifications),
        ),
    ]

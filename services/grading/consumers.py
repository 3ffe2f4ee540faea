"""What grading learns from events: reports to grade, and what the notifier did."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.events import NOTIFICATION, REPORT_RECEIVED, CloudEvent
from services.grading.service import Grading


def consumers(grading: Grading) -> list[Consumer]:
    """Grading's consumers."""

    async def on_report(session: AsyncSession, event: CloudEvent) -> None:
        await grading.on_report(session, event.data["report"])

    async def on_notification(session: AsyncSession, event: CloudEvent) -> None:
        await grading.on_notification(session, event.data)

    return [
        Consumer(name="grading.reports", topics=(REPORT_RECEIVED,), handle=on_report),
        Consumer(name="grading.notifications", topics=(NOTIFICATION,), handle=on_notification),
    ]

"""What monitoring learns from the other services' events: the report intake filed for each
alert (a `ReportReceived` whose `source_ref` is the alert's id)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import ReportReceived
from libs.common.events import CloudEvent
from services.monitoring.service import Monitoring


def consumers(monitoring: Monitoring) -> list[Consumer]:
    """Monitoring's consumers."""

    async def on_reports(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        received = [ReportReceived.of(e) for e in events if e.type == ReportReceived.type_]
        await monitoring.on_reports(session, received)

    return [Consumer(name="monitoring.reports", topics=(ReportReceived.topic,), apply=on_reports)]

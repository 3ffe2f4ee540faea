"""What intake learns from the other services' events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import IncidentPlacement, IncidentWarning, MonitoringAlert
from libs.common.events import CloudEvent
from services.intake.handlers import Intake


def consumers(intake: Intake, *, alerts_per_second: float | None = None) -> list[Consumer]:
    """Intake's consumers; monitoring alerts filed at most `alerts_per_second`."""

    async def on_incidents(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        # A batch's placements are written at once; the later event wins.
        incidents = [i for i in map(IncidentPlacement.of, events) if i is not None]
        await intake.on_incidents(session, incidents)

    async def on_alerts(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        alerts = [MonitoringAlert.of(e) for e in events if e.type == MonitoringAlert.type_]
        await intake.on_alerts(session, alerts, now=dt.datetime.now(dt.UTC))

    return [
        Consumer(name="intake.incidents", topics=(IncidentWarning.topic,), apply=on_incidents),
        Consumer(
            name="intake.monitoring",
            topics=(MonitoringAlert.topic,),
            apply=on_alerts,
            per_second=alerts_per_second,
        ),
    ]

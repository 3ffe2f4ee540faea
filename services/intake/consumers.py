"""What intake learns from the other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.events import INCIDENT_WARNING, CloudEvent
from services.intake.service import Intake


def consumers(intake: Intake) -> list[Consumer]:
    """Intake's consumers."""

    async def on_incident(session: AsyncSession, event: CloudEvent) -> None:
        # `incident.warning` carries the incident with the ids of the reports it gathers. A
        # county cluster gathers incidents, not reports: each report keeps its own incident.
        incident = event.data["incident"]
        if incident.get("kind", "single") == "cluster":
            return
        await intake.place_in_incident(
            session,
            incident_id=str(incident["id"]),
            report_ids=[str(r) for r in incident["report_ids"]],
        )

    return [Consumer(name="intake.incidents", topics=(INCIDENT_WARNING,), handle=on_incident)]

"""What intake learns from the other services' events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.events import INCIDENT_WARNING, CloudEvent
from services.intake.service import Intake


def consumers(intake: Intake) -> list[Consumer]:
    """Intake's consumers."""

    async def on_incidents(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        # `incident.warning` carries the incident with the ids of the reports it gathers. A
        # county cluster gathers incidents, not reports: each report keeps its own incident.
        # A batch's placements are written at once; where two events place a report, the
        # later one wins, as it would one by one.
        placements: dict[str, str] = {}
        for event in events:
            incident = event.data["incident"]
            if incident.get("kind", "single") == "cluster":
                continue
            for report_id in incident["report_ids"]:
                placements[str(report_id)] = str(incident["id"])
        await intake.place_in_incidents(session, placements)

    return [Consumer(name="intake.incidents", topics=(INCIDENT_WARNING,), apply=on_incidents)]

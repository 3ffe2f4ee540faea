"""What intake learns from the other services' events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import IncidentData, IncidentUpdated, IncidentWarning
from libs.common.events import CloudEvent
from services.intake.handlers import Intake


def incident_of(event: CloudEvent) -> IncidentData | None:
    """The incident an event of grading's topic carries (None for a type intake ignores)."""
    if event.type == IncidentWarning.type_:
        return IncidentWarning.of(event).incident
    if event.type == IncidentUpdated.type_:
        return IncidentUpdated.of(event).incident
    return None


def consumers(intake: Intake) -> list[Consumer]:
    """Intake's consumers."""

    async def on_incidents(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        # A batch's placements are written at once; the later event wins.
        incidents = [i for i in map(incident_of, events) if i is not None]
        await intake.on_incidents(session, incidents)

    return [Consumer(name="intake.incidents", topics=(IncidentWarning.topic,), apply=on_incidents)]

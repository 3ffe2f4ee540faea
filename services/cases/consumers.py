"""What the cases service learns from events: the warnings that open a case and move it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer
from libs.common.contracts import IncidentWarning
from libs.common.events import INCIDENT_WARNING, CloudEvent
from services.cases.service import Cases


def consumers(cases: Cases) -> list[Consumer]:
    """The cases service's consumer: warnings (an incident's update changes no case)."""

    async def apply(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        for event in events:
            if event.type == IncidentWarning.type_:
                await cases.on_warning(session, IncidentWarning.of(event))

    return [Consumer(name="cases.warnings", topics=(INCIDENT_WARNING,), apply=apply)]

"""What the notifier learns from events: the warnings it must deliver."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
from libs.common.events import INCIDENT_WARNING, CloudEvent
from services.notifier.service import Notifier


def consumers(notifier: Notifier) -> list[Consumer]:
    """The notifier's consumers."""

    async def on_warning(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == INCIDENT_WARNING:
            await notifier.on_warning(session, event.id, event.data)

    async def prepare(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await notifier.prepare_warnings(
            session, [(e.id, e.data) for e in events if e.type == INCIDENT_WARNING]
        )

    return [
        Consumer(
            name="notifier.warnings",
            topics=(INCIDENT_WARNING,),
            apply=each(on_warning, prepare=prepare),
        )
    ]

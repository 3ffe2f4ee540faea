"""Check every incident's timeline against its seal and its anchor (`laborwatch audit verify`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.grading.audit import chain_fault
from services.grading.reads import timeline_of
from services.grading.tables import incidents


@dataclass(frozen=True)
class Broken:
    """An incident whose timeline does not verify, and what is wrong with it."""

    incident_id: str
    fault: str


async def broken_chains(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Broken]:
    """Yield each incident whose timeline is not whole, incident by incident (in id order)."""
    async with sessionmaker() as session:
        anchors = (
            await session.execute(
                select(
                    incidents.c.id, incidents.c.timeline_head, incidents.c.timeline_entries
                ).order_by(incidents.c.id)
            )
        ).all()
        for incident_id, head, count in anchors:
            entries = await timeline_of(session, incident_id, count)
            fault = chain_fault(entries, head=head, count=count)
            if fault is not None:
                yield Broken(incident_id, fault)
            session.expunge_all()  # one chain in memory at a time


async def count_incidents(session: AsyncSession) -> int:
    """How many incidents there are (each has one timeline)."""
    return int(await session.scalar(select(func.count()).select_from(incidents)) or 0)

"""Grading's reads for the API: pages of incidents, open levels, a timeline. `Store` extends
`Reads`; the consumers' batch reads and every write are in services/grading/store.py."""

from __future__ import annotations

from typing import Any
from typing import cast as typed

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.access import ReadScope
from libs.common.db import list_holds
from libs.common.pagination import newest_first, next_cursor
from libs.common.queries import scoped
from services.grading.incident import Incident
from services.grading.tables import TimelineEntry, incidents
from services.grading.words import IncidentStatus

# Written out, not bound: a planner picks the partial index on open incidents only where the
# query's condition is the index's own (SQLite never for a parameter, PostgreSQL not in a
# generic plan).
_OPEN_LITERAL = text("grading_incidents.status = 'open'")


def _readable(query: Select[Any], scope: ReadScope) -> Select[Any]:
    """`query` narrowed to the incidents a scope reads."""
    return scoped(
        query,
        scope,
        jurisdiction=incidents.c.jurisdiction,
        regions=incidents.c.regions,
        bodies=incidents.c.bodies,
    )


class Reads:
    """What the API reads of incidents, within a session its caller opened."""

    async def timeline(
        self, session: AsyncSession, incident_id: str, *, written: int | None = None
    ) -> list[TimelineEntry]:
        """An incident's timeline, oldest first: its first `written` entries, if given."""
        return await timeline_of(session, incident_id, written)

    async def open_levels(
        self, session: AsyncSession, scope: ReadScope, jurisdiction: str
    ) -> list[tuple[str, int, list[str]]]:
        """(level, rank, regions) of the open incidents with a level that a scope reads."""
        query = _readable(
            select(incidents.c.level, incidents.c.level_rank, incidents.c.regions), scope
        ).where(incidents.c.jurisdiction == jurisdiction, _OPEN_LITERAL, incidents.c.level_rank > 0)
        return [(r[0], int(r[1]), list(r[2])) for r in await session.execute(query)]

    async def page(
        self,
        session: AsyncSession,
        scope: ReadScope,
        filters: dict[str, str | None],
        *,
        cursor: str | None,
        limit: int,
        provisional: bool | None = None,
    ) -> tuple[list[Incident], str | None]:
        """A page of the incidents a scope reads, newest first, and the next cursor.

        `filters`: jurisdiction, level, status, kind (equal), region and category (an
        incident touching the region, of the category; a cluster's are its members');
        `provisional`: only those whose level awaits assessment (True) or only the others."""
        query = _readable(select(Incident), scope)
        for name in ("jurisdiction", "level", "status", "kind"):
            if filters.get(name) == IncidentStatus.OPEN and name == "status":
                query = query.where(_OPEN_LITERAL)
            elif filters.get(name) is not None:
                query = query.where(incidents.c[name] == filters[name])
        for name, column in (("region", incidents.c.regions), ("category", incidents.c.categories)):
            if (value := filters.get(name)) is not None:
                query = query.where(list_holds(column, value))
        if provisional is not None:
            query = query.where(incidents.c.provisional.is_(provisional))
        at: Any = incidents.c.opened_at  # a column, as newest_first reads a mapped attribute
        query = newest_first(query, at, typed(Any, incidents.c.id), cursor=cursor, limit=limit)
        rows = list(await session.scalars(query))
        return rows[:limit], next_cursor(rows, limit, at)


async def timeline_of(
    session: AsyncSession, incident_id: str, written: int | None = None
) -> list[TimelineEntry]:
    """An incident's timeline, oldest first. Given `written` (the count on the incident row
    as read), only that many: entries a later transaction committed after the row was read
    belong to a newer anchor, and reading them against the older one would look like a
    broken chain on a live system."""
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.id)
    )
    if written is not None:
        query = query.limit(written)
    return list(await session.scalars(query))

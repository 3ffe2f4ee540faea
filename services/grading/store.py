"""Where grading meets its tables: sessions, locks, batch reads and what one transaction has
read and written (the speed work lives here, so that a handler cannot get it wrong).

A consumed batch is prepared in a few statements (`prepare_reports`, `prepare_incidents`);
each event's handler then asks the store, which answers from the transaction's own memory
(`_Written`) before it asks the database, and never flushes for it. Rows nobody reads back in
the transaction (a report's link, timeline entries) are inserted at commit, one statement per
table; a cluster's report list, which must see them, inserts them first (`insert_now`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from typing import cast as typed

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.access import ReadScope
from libs.common.db import insert_at_commit, insert_now, list_holds, lock
from libs.common.pagination import newest_first, next_cursor
from libs.common.queries import scoped
from services.grading.audit import GENESIS, seal
from services.grading.domain import Figures
from services.grading.incident import Incident, Outcome
from services.grading.tables import IncidentReport, TimelineEntry, incidents
from services.grading.words import CollectiveAction, IncidentKind, IncidentStatus

_WRITTEN = "grading.written"  # session.info key of the transaction's _Written
_OPEN = incidents.c.status == IncidentStatus.OPEN
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


@dataclass
class _Written:
    """What one transaction has read and written so far, kept so that the later events of a
    consumed batch need not ask the database again, nor flush to it, for what this
    transaction knows best. The batch is then flushed once, at commit."""

    # incident id -> hash of its latest timeline entry
    heads: dict[str, str] = field(default_factory=dict)
    # code key / name key -> its open incident, read (and locked) or opened in this
    # transaction; None: looked up, and none was open
    by_code: dict[str, Incident | None] = field(default_factory=dict)
    by_name: dict[str, Incident | None] = field(default_factory=dict)
    # incident id -> the incident, locked in this transaction; None: there is no such incident
    by_id: dict[str, Incident | None] = field(default_factory=dict)
    # incident id -> (received_at, report id) of all its reports, where known in full
    reports: dict[str, list[tuple[dt.datetime, str]]] = field(default_factory=dict)
    # reports placed, in this transaction or before it; reports asked about
    placed: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)


def _written(session: AsyncSession) -> _Written:
    # Not `setdefault(_WRITTEN, _Written())`: that builds a _Written at every call, and a
    # report asks about twenty times.
    written: _Written | None = session.info.get(_WRITTEN)
    if written is None:
        written = session.info[_WRITTEN] = _Written()
    return written


class Store:
    """Grading's reads and writes, within a session its caller opened."""

    # ------------------------------------------------------------------ reports arrive

    async def prepare_reports(
        self, session: AsyncSession, reports: Sequence[tuple[str, str | None, str | None]]
    ) -> None:
        """Read at once, for a batch of reports (id, code key, name key), what placing them
        one by one would read report by report: which were placed before, and the open
        incidents of their keys (locked, in id order), with their timeline heads and reports."""
        written = _written(session)
        ids = [r[0] for r in reports]
        with session.no_autoflush:
            query = select(IncidentReport.report_id).where(IncidentReport.report_id.in_(ids))
            written.placed.update(await session.scalars(query))
        written.checked.update(ids)
        codes = {r[1] for r in reports if r[1]} - written.by_code.keys()
        names = {r[2] for r in reports if r[2]} - written.by_name.keys()
        await self._read_open(session, codes, names)

    async def _read_open(self, session: AsyncSession, codes: set[str], names: set[str]) -> None:
        if not codes and not names:
            return
        written = _written(session)
        query = select(Incident).where(
            _OPEN, or_(incidents.c.code_key.in_(codes), incidents.c.correlation_key.in_(names))
        )
        with session.no_autoflush:
            found = list(await session.scalars(lock(query.order_by(incidents.c.id), session)))
        written.by_code.update(dict.fromkeys(codes))
        written.by_name.update(dict.fromkeys(names))
        for incident in found:
            written.by_id[incident.id] = incident
            if incident.code_key in codes:
                written.by_code[incident.code_key] = incident
            if incident.correlation_key in names:
                written.by_name[incident.correlation_key] = incident
        await self._read_heads(session, [i.id for i in found])
        await self._read_reports(session, [i.id for i in found if i.kind == IncidentKind.SINGLE])

    async def placed(self, session: AsyncSession, report_id: str) -> bool:
        """Say whether a report was placed before (re-published, or twice in a batch)."""
        written = _written(session)
        if report_id not in written.checked:
            written.checked.add(report_id)
            with session.no_autoflush:
                if await session.get(IncidentReport, report_id) is not None:
                    written.placed.add(report_id)
        return report_id in written.placed

    async def open_incidents(
        self, session: AsyncSession, code: str | None, name: str | None
    ) -> tuple[Incident | None, Incident | None]:
        """The open incidents holding a code key and a name key (locked), as this transaction
        knows them: one may have closed since, or taken a code, unflushed."""
        written = _written(session)
        await self._read_open(
            session,
            {code} - written.by_code.keys() if code else set(),
            {name} - written.by_name.keys() if name else set(),
        )
        by_code = written.by_code.get(code) if code else None
        by_name = written.by_name.get(name) if name else None
        if by_code is not None and (
            by_code.status != IncidentStatus.OPEN or by_code.code_key != code
        ):
            by_code = None
        if by_name is not None and (
            by_name.status != IncidentStatus.OPEN or by_name.correlation_key != name
        ):
            by_name = None
        return by_code, by_name

    def known_by_code(self, session: AsyncSession, incident: Incident) -> None:
        """Remember that an incident now holds its code key (it learnt its code)."""
        if incident.code_key is not None:
            _written(session).by_code[incident.code_key] = incident

    def add(self, session: AsyncSession, incident: Incident) -> None:
        """Add a new incident; the transaction knows it has no reports nor timeline yet.

        Two processes opening one enterprise's incident at once: the unique indexes on open
        keys let one commit win; the other's transaction fails, and its event, applied
        again, finds and joins the winner's incident."""
        session.add(incident)
        written = _written(session)
        if incident.code_key is not None:
            written.by_code[incident.code_key] = incident
        if incident.correlation_key is not None:
            written.by_name[incident.correlation_key] = incident
        written.by_id[incident.id] = incident
        written.reports[incident.id] = []
        written.heads[incident.id] = GENESIS  # a new chain

    def place(
        self,
        session: AsyncSession,
        incident: Incident,
        *,
        report_id: str,
        source: str,
        figures: Figures,
        at: dt.datetime,
    ) -> None:
        """Link a report to its incident (inserted at commit)."""
        row = {
            "report_id": report_id,
            "incident_id": incident.id,
            "source": source,
            "received_at": at,
            "figures": figures.as_dict(),
        }
        insert_at_commit(session, IncidentReport, row)
        written = _written(session)
        written.placed.add(report_id)
        if incident.id in written.reports:
            written.reports[incident.id].append((at, report_id))

    async def report_ids(self, session: AsyncSession, incident: Incident) -> list[str]:
        """An incident's reports, oldest first; a cluster's are its members'."""
        if incident.kind == IncidentKind.SINGLE:
            await self._read_reports(session, [incident.id])
            return [report_id for _, report_id in sorted(_written(session).reports[incident.id])]
        await insert_now(session)  # some members' reports may be placed in this transaction
        query = (
            select(IncidentReport.report_id)
            .where(IncidentReport.incident_id.in_(incident.member_ids))
            .order_by(IncidentReport.received_at, IncidentReport.report_id)
        )
        return list(await session.scalars(query))

    async def read_reports(self, session: AsyncSession, incidents_: Sequence[Incident]) -> None:
        """Read the reports of a page of incidents in one statement (a cluster's are read
        when asked: its members')."""
        await self._read_reports(
            session, [i.id for i in incidents_ if i.kind == IncidentKind.SINGLE]
        )

    async def cluster_candidates(
        self, session: AsyncSession, jurisdiction: str, since: dt.datetime
    ) -> list[Incident]:
        """Open single incidents of a jurisdiction with collective action, recent enough."""
        query = select(Incident).where(
            incidents.c.jurisdiction == jurisdiction,
            incidents.c.kind == IncidentKind.SINGLE,
            _OPEN,
            incidents.c.collective_action.in_(
                (CollectiveAction.POSSIBLE, CollectiveAction.OCCURRED)
            ),
            incidents.c.last_report_at >= since,
        )
        return list(await session.scalars(query))

    # -------------------------------------------------------------- incidents by id

    async def prepare_incidents(self, session: AsyncSession, ids: Iterable[str]) -> None:
        """Lock at once, in id order, the incidents a batch of events is about, and read
        their timeline heads."""
        written = _written(session)
        wanted = set(ids) - written.by_id.keys()
        if not wanted:
            return
        query = lock(select(Incident).where(incidents.c.id.in_(wanted)), session)
        with session.no_autoflush:
            found = list(await session.scalars(query.order_by(incidents.c.id)))
        written.by_id.update(dict.fromkeys(wanted))
        written.by_id.update({i.id: i for i in found})
        await self._read_heads(session, [i.id for i in found])

    async def locked(self, session: AsyncSession, incident_id: str) -> Incident | None:
        """An incident, locked for this transaction (None if there is none)."""
        await self.prepare_incidents(session, [incident_id])
        return _written(session).by_id[incident_id]

    async def incident_of_report(self, session: AsyncSession, report_id: str) -> str | None:
        """The incident a report was placed in, if any."""
        with session.no_autoflush:
            found = await session.get(IncidentReport, report_id)
        return found.incident_id if found else None

    # ---------------------------------------------------------------------- timeline

    async def record(
        self, session: AsyncSession, incident: Incident, outcome: Outcome, at: dt.datetime
    ) -> None:
        """Append what happened to the incident's timeline, each entry sealed to the one
        before it. The incident's row is locked by this transaction, so no other appends
        meanwhile; the chain's head is read once per transaction and then kept."""
        if not outcome.happened:
            return
        heads = _written(session).heads
        await self._read_heads(session, [incident.id])
        for happened in outcome.happened:
            entry: dict[str, Any] = {
                "incident_id": incident.id,
                "at": at,
                "kind": str(happened.kind),
                "actor": happened.actor,
                "detail": happened.detail,
                "note": happened.note,
                "prev_hash": heads[incident.id],
            }
            entry["hash"] = heads[incident.id] = seal(entry)
            insert_at_commit(session, TimelineEntry, entry)  # append-only, not read back here
        # The anchor, in the same transaction: a truncated chain no longer reaches it.
        incident.timeline_head = heads[incident.id]
        incident.timeline_entries = (incident.timeline_entries or 0) + len(outcome.happened)

    async def _read_heads(self, session: AsyncSession, incident_ids: list[str]) -> None:
        """Read the timeline heads of incidents whose head the transaction does not know."""
        heads = _written(session).heads
        ids = [i for i in incident_ids if i not in heads]
        if not ids:
            return
        latest = (
            select(func.max(TimelineEntry.id))
            .where(TimelineEntry.incident_id.in_(ids))
            .group_by(TimelineEntry.incident_id)
        )
        query = select(TimelineEntry.incident_id, TimelineEntry.hash).where(
            TimelineEntry.id.in_(latest)
        )
        with session.no_autoflush:
            found = {incident_id: hash_ for incident_id, hash_ in await session.execute(query)}
        for incident_id in ids:
            heads[incident_id] = found.get(incident_id, GENESIS)

    async def _read_reports(self, session: AsyncSession, incident_ids: list[str]) -> None:
        """Read the reports of single incidents whose reports the transaction does not know."""
        known = _written(session).reports
        ids = [i for i in incident_ids if i not in known]
        if not ids:
            return
        query = select(
            IncidentReport.incident_id, IncidentReport.received_at, IncidentReport.report_id
        ).where(IncidentReport.incident_id.in_(ids))
        for incident_id in ids:
            known[incident_id] = []
        with session.no_autoflush:
            for incident_id, received_at, report_id in await session.execute(query):
                known[incident_id].append((received_at, report_id))

    # -------------------------------------------------------------------------- reads

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

"""Where grading meets its tables: sessions, locks, batch reads and what one transaction has
read and written (the speed work lives here, so that a handler cannot get it wrong).

A consumed batch is prepared in a few statements (`prepare_reports`, `prepare_incidents`,
`prepare_notices`); each event's handler then asks the store, which answers from the
transaction's own memory (`_Written`) before it asks the database, and never flushes for it.
Rows nobody reads back in the transaction (a report's link, timeline entries) are inserted at
commit, one statement per table; a cluster's report list, which must see them, inserts them
first (`insert_now`). What the notifier did only lengthens a timeline: its incident is locked
but not loaded, and the timeline's anchor is set at commit (`append`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import insert_at_commit, insert_now, lock, update_at_commit
from services.grading.audit import GENESIS, seal
from services.grading.domain import Figures
from services.grading.incident import Incident
from services.grading.outcome import Happened, Outcome
from services.grading.reads import Reads
from services.grading.tables import IncidentReport, TimelineEntry, incidents
from services.grading.words import CollectiveAction, IncidentKind, IncidentStatus

_WRITTEN = "grading.written"  # session.info key of the transaction's _Written
_OPEN = incidents.c.status == IncidentStatus.OPEN


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
    # incident id -> how many entries its timeline has, for an incident locked without loading
    # it (only its timeline is appended to); None: there is no such incident
    entries: dict[str, int | None] = field(default_factory=dict)
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


class Store(Reads):
    """Grading's reads and writes, within a session its caller opened (the API's reads in
    `Reads`)."""

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

    async def prepare_notices(
        self, session: AsyncSession, ids: Iterable[str], *, changing: Iterable[str]
    ) -> None:
        """Lock at once, in id order, the incidents a batch of the notifier's events is about;
        load those the batch will change (`changing`), and of the others read only how long
        their timelines are (`append`); read every timeline's head."""
        written = _written(session)
        changing = set(changing)
        wanted = set(ids) - written.by_id.keys() - written.entries.keys()
        if wanted:
            query = select(incidents.c.id, incidents.c.timeline_entries).where(
                incidents.c.id.in_(wanted | changing)
            )
            with session.no_autoflush:
                found = await session.execute(lock(query.order_by(incidents.c.id), session))
            counts = {id_: entries or 0 for id_, entries in found if id_ not in changing}
            written.entries.update(dict.fromkeys(wanted - changing))
            written.entries.update(counts)
        await self.prepare_incidents(session, changing)  # locked above: no wait
        await self._read_heads(session, [i for i, n in written.entries.items() if n is not None])

    async def append(
        self, session: AsyncSession, incident_id: str, happened: Happened, at: dt.datetime
    ) -> bool:
        """Append to the timeline of an incident that does not change otherwise (False: there
        is no such incident); its anchor is set at commit, without loading the incident."""
        written = _written(session)
        incident = written.by_id.get(incident_id)
        if incident is not None:  # loaded in this transaction: the anchor goes with it
            await self.record(session, incident, Outcome([happened]), at)
            return True
        if incident_id not in written.entries:
            await self.prepare_notices(session, [incident_id], changing=[])
        count = written.entries[incident_id]
        if count is None:
            return False
        self._anchor(
            session, incident_id, self._seal(session, incident_id, [happened], at), count + 1
        )
        return True

    def _anchor(self, session: AsyncSession, incident_id: str, head: str, count: int) -> None:
        _written(session).entries[incident_id] = count
        values = {"timeline_head": head, "timeline_entries": count}
        update_at_commit(session, incidents, incident_id, values)

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
        await self._read_heads(session, [incident.id])
        # The anchor, in the same transaction: a truncated chain no longer reaches it.
        written = _written(session)
        known = written.entries.get(incident.id)  # appended to in this transaction, unloaded
        count = (incident.timeline_entries or 0) if known is None else known
        head = self._seal(session, incident.id, outcome.happened, at)
        incident.timeline_head, incident.timeline_entries = head, count + len(outcome.happened)
        if known is not None:  # the anchor set at commit by `append` must say the same
            self._anchor(session, incident.id, head, incident.timeline_entries)

    def _seal(
        self, session: AsyncSession, incident_id: str, happened: Sequence[Happened], at: dt.datetime
    ) -> str:
        """Seal entries to the timeline's head (read before) and insert them at commit (they
        are append-only, not read back here); the new head."""
        heads = _written(session).heads
        for one in happened:
            entry: dict[str, Any] = {
                "incident_id": incident_id,
                "at": at,
                "kind": str(one.kind),
                "actor": one.actor,
                "detail": one.detail,
                "note": one.note,
                "prev_hash": heads[incident_id],
            }
            entry["hash"] = heads[incident_id] = seal(entry)
            insert_at_commit(session, TimelineEntry, entry)
        return heads[incident_id]

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

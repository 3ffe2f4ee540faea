"""Where the cases service meets its tables: a case read (or locked), inserted, or updated
only if nobody changed it since it was read (the version), with the step it took; free text
sealed on the way in and opened on the way out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.access import ReadScope
from libs.common.db import lock
from libs.common.pagination import newest_first, next_cursor
from libs.common.privacy import Cipher
from libs.common.problems import TYPE_BASE, Problem
from libs.common.queries import scoped
from services.cases.case import Case, Step
from services.cases.domain import Status
from services.cases.tables import cases, steps

CONTENT = "cases_cases.content"
DETAIL = "cases_steps.detail"
_PLAIN = (
    "id",
    "incident_id",
    "jurisdiction",
    "level",
    "level_label",
    "level_rank",
    "responsible_body",
    "responsible_name",
    "opened_at",
    "updated_at",
    "closed_at",
    "drill",
    "regions",
    "bodies",
    "event_key",
    "facts",
    "dues",
    "on_time",
    "version",
)


class Conflict(Problem):
    """Someone else acted on the case since it was read."""

    def __init__(self, case_id: str) -> None:
        super().__init__(
            409,
            f"case {case_id} was changed by someone else meanwhile: read it again and retry",
            type_=TYPE_BASE + "case-conflict",
        )


class Store:
    """The cases service's reads and writes, within a session its caller opened."""

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = cipher

    def _case(self, row: Any) -> Case:
        content = orjson.loads(self.cipher.decrypt(row["content_sealed"], context=CONTENT))
        plain = {name: row[name] for name in _PLAIN}
        return Case(**plain, status=Status(row["status"]), content=content)

    def row_of(self, case: Case) -> dict[str, Any]:
        """A case as its row, its content sealed."""
        row = {name: getattr(case, name) for name in _PLAIN}
        row["status"] = case.status.value
        row["content_sealed"] = self.cipher.encrypt(
            orjson.dumps(case.content).decode(), context=CONTENT
        )
        return row

    async def get(self, session: AsyncSession, case_id: str) -> Case | None:
        """A case, or None."""
        found = (await session.execute(select(cases).where(cases.c.id == case_id))).mappings()
        row = found.first()
        return None if row is None else self._case(row)

    async def of_incident(self, session: AsyncSession, incident_id: str) -> Case | None:
        """An incident's case, locked for this transaction, or None."""
        query = lock(select(cases).where(cases.c.incident_id == incident_id), session)
        row = (await session.execute(query)).mappings().first()
        return None if row is None else self._case(row)

    async def insert(self, session: AsyncSession, case: Case, step: Step) -> None:
        """A new case, with its first step."""
        case.version = 1
        await session.execute(insert(cases).values(self.row_of(case)))
        await self._step(session, case, step)

    async def update(self, session: AsyncSession, case: Case, step: Step | None) -> None:
        """Write a changed case and its step, if nobody changed it since it was read (else
        409, and the caller's transaction rolls back whole)."""
        read = case.version
        case.version = read + 1
        done = await session.execute(
            update(cases)
            .where(cases.c.id == case.id, cases.c.version == read)
            .values(self.row_of(case))
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(case.id)
        if step is not None:
            await self._step(session, case, step)

    async def _step(self, session: AsyncSession, case: Case, step: Step) -> None:
        detail = orjson.dumps(step.detail).decode()
        await session.execute(
            insert(steps).values(
                case_id=case.id,
                seq=case.version,
                step=step.step,
                at=step.at,
                by=step.by[:300],
                summary_zh=step.summary_zh[:500],
                detail_sealed=self.cipher.encrypt(detail, context=DETAIL),
            )
        )

    async def steps(self, session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
        """Every step a case took, oldest first, with its detail opened."""
        query = select(steps).where(steps.c.case_id == case_id).order_by(steps.c.seq)
        out = []
        for row in (await session.execute(query)).mappings():
            detail = orjson.loads(self.cipher.decrypt(row["detail_sealed"], context=DETAIL))
            out.append({**{k: row[k] for k in ("seq", "step", "at", "by", "summary_zh")}, **detail})
        return out

    async def page(
        self,
        session: AsyncSession,
        scope: ReadScope,
        filters: dict[str, str | None],
        *,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Case], str | None]:
        """A page of the cases a scope reads, newest first, and the next cursor."""
        query = scoped(
            select(cases),
            scope,
            jurisdiction=cases.c.jurisdiction,
            regions=cases.c.regions,
            bodies=cases.c.bodies,
        )
        for name, column in (
            ("jurisdiction", cases.c.jurisdiction),
            ("status", cases.c.status),
            ("level", cases.c.level),
            ("body_id", cases.c.responsible_body),
        ):
            if filters.get(name) is not None:
                query = query.where(column == filters[name])
        at: Any = cases.c.opened_at  # a column, as newest_first reads a mapped attribute
        row_id: Any = cases.c.id
        query = newest_first(query, at, row_id, cursor=cursor, limit=limit)
        rows = list((await session.execute(query)).mappings())
        return [self._case(r) for r in rows[:limit]], _cursor(rows, limit)


def _cursor(rows: list[Mapping[str, Any]], limit: int) -> str | None:
    class _Last:
        def __init__(self, row: Mapping[str, Any]) -> None:
            self.id: str = row["id"]
            self.opened_at: dt.datetime = row["opened_at"]

    at: Any = cases.c.opened_at
    return next_cursor([_Last(r) for r in rows], limit, at)

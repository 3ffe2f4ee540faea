"""The briefing routes: the documents, the office's analysis, and issuing (第N期)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response

from libs.common.auth import Principal, Role, require
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import Problem, problem_responses
from services.insight import documents, store, workbook
from services.insight.briefing import Briefing, gather
from services.insight.domain import BadPeriod, Period, parse_period
from services.insight.schemas import IssueOut, NarrativeIn

if TYPE_CHECKING:
    from services.insight.service import Insight

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
JurisdictionId = Annotated[str, Path(max_length=64)]
PeriodCode = Annotated[str, Path(max_length=16)]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# matplotlib's pyplot is not thread-safe: one document is drawn at a time.
_DRAWING = threading.Lock()


def _period(insight: Insight, jurisdiction: str, code: str) -> tuple[Period, dt.date]:
    try:
        period = parse_period(code)
    except BadPeriod as error:
        raise Problem(422, str(error)) from None
    today = insight.today(jurisdiction)
    if period.start > today:
        raise Problem(422, f"period {code} has not begun")
    return period, today


def _drawn(render: Callable[[Briefing], bytes], briefing: Briefing) -> bytes:
    with _DRAWING:
        return render(briefing)


async def _document(
    insight: Insight, principal: Principal, jurisdiction: str, code: str, kind: str
) -> Response:
    insight.readable(principal, jurisdiction)
    period, today = _period(insight, jurisdiction, code)
    async with insight.sessionmaker() as session:
        row = await store.briefing(session, jurisdiction, period.code)
    issued = row[kind] if row and row["number"] else None
    if issued is None:
        briefing = await gather(insight, jurisdiction, period, today)
        render = documents.render if kind == "docx" else workbook.render
        issued = await asyncio.to_thread(_drawn, render, briefing)
    name = quote(f"{jurisdiction}-{period.code}.{kind}")
    return Response(
        issued,
        media_type=DOCX if kind == "docx" else XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


def routes(api: APIRouter, insight: Insight) -> None:
    """Add the briefing routes."""
    for kind in ("docx", "xlsx"):
        _download(api, insight, kind)

    @api.put(
        "/v1/briefings/{jurisdiction}/{period}/narrative",
        tags=["briefings"],
        summary="Set the office's analysis (形势研判) of a briefing",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def narrative(
        jurisdiction: JurisdictionId, period: PeriodCode, body: NarrativeIn, principal: Reader
    ) -> NarrativeIn:
        insight.readable(principal, jurisdiction)
        found, _ = _period(insight, jurisdiction, period)
        async with insight.sessionmaker.begin() as session:
            row = await store.briefing(session, jurisdiction, found.code)
            if row and row["number"]:
                raise Problem(409, f"the briefing of {found.code} is issued and frozen")
            await store.put_briefing(
                session,
                {
                    "jurisdiction": jurisdiction,
                    "period": found.code,
                    "narrative": body.model_dump(),
                },
            )
        return body

    @api.post(
        "/v1/briefings/{jurisdiction}/{period}/issue",
        tags=["briefings"],
        status_code=201,
        response_model=IssueOut,
        summary="Issue a briefing as number N of its year (第N期); later downloads give it",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def issue(
        jurisdiction: JurisdictionId,
        period: PeriodCode,
        principal: Reader,
        idem: Annotated[Idempotent, idempotency("insight")],
    ) -> JSONResponse:
        async def call() -> IssueOut:
            return await _issue(insight, principal, jurisdiction, period)

        return await idem.run(principal, None, call, status_code=201)


async def _issue(insight: Insight, principal: Principal, jurisdiction: str, code: str) -> IssueOut:
    insight.readable(principal, jurisdiction)
    period, today = _period(insight, jurisdiction, code)
    async with insight.sessionmaker.begin() as session:
        row = await store.briefing(session, jurisdiction, period.code)
        if row and row["number"]:
            raise Problem(409, f"the briefing of {period.code} is already issue {row['number']}")
        number = await store.next_number(session, jurisdiction, period.code[:4])
        now = insight.clock.now()
        await store.put_briefing(
            session,
            {
                "jurisdiction": jurisdiction,
                "period": period.code,
                "narrative": (row or {}).get("narrative"),
                "number": number,
                "issued_at": now,
                "issued_by": principal.actor,
            },
        )
    briefing = await gather(insight, jurisdiction, period, today)
    docx = await asyncio.to_thread(_drawn, documents.render, briefing)
    xlsx = await asyncio.to_thread(_drawn, workbook.render, briefing)
    async with insight.sessionmaker.begin() as session:
        await store.put_briefing(
            session,
            {"jurisdiction": jurisdiction, "period": period.code, "docx": docx, "xlsx": xlsx},
        )
    return IssueOut(jurisdiction=jurisdiction, period=period.code, number=number, issued_at=now)


def _download(api: APIRouter, insight: Insight, kind: str) -> None:
    @api.get(
        f"/v1/briefings/{{jurisdiction}}/{{period}}.{kind}",
        tags=["briefings"],
        summary=f"The briefing of a period as .{kind} (草稿 until issued)",
        response_class=Response,
        responses={
            **problem_responses(401, 403, 422),
            200: {"content": {DOCX if kind == "docx" else XLSX: {}}},
        },
    )
    async def download(
        jurisdiction: JurisdictionId, period: PeriodCode, principal: Reader
    ) -> Response:
        return await _document(insight, principal, jurisdiction, period, kind)

"""The cases API (CONTRACT.md, "Incident lifecycle and cases", "The warning-information
form"): list and read cases, and take their steps; every POST honours an Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from libs.common.access import ensure_jurisdiction, scope_of
from libs.common.auth import Principal, Role, require
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import problem_responses
from libs.common.queries import known_body, known_places, one_of
from services.cases import acts
from services.cases.domain import Status
from services.cases.form import DOCX, render_form
from services.cases.schemas import (
    ApprovalIn,
    CaseOut,
    CasePage,
    CloseIn,
    FormIn,
    GovernmentReportIn,
    PlanIn,
    ProgressIn,
)
from services.cases.service import SERVICE, Cases
from services.cases.views import out_of

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Actor = Annotated[Principal, require(Role.RESPONDER)]
CaseId = Annotated[str, Path(max_length=64)]
Idem = Annotated[Idempotent, idempotency(SERVICE)]
Operation = Callable[[Cases, str, Any, Principal], Awaitable[CaseOut]]
_ACTS = (401, 403, 404, 409, 422)


def router(cases: Cases) -> APIRouter:
    """Build the cases router around the service."""
    api = APIRouter(tags=["cases"])
    _reads(api, cases)
    _steps(api, cases)
    return api


def _reads(api: APIRouter, cases: Cases) -> None:
    @api.get(
        "/v1/cases",
        response_model=CasePage,
        summary="List the cases the caller reads, newest first (处置案件)",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_cases(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        status: Annotated[Status | None, Query()] = None,
        body_id: Annotated[str | None, Query(max_length=128)] = None,
        level: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> CasePage:
        known_places(cases.registry, jurisdiction=jurisdiction, region=None)
        known_body(cases.registry, body_id)
        places = [j for j in cases.registry if jurisdiction in (None, j.id)]
        one_of("level", level, {lvl.id for j in places for lvl in j.policy.levels})
        filters = {
            "jurisdiction": ensure_jurisdiction(principal, jurisdiction),
            "status": status.value if status else None,
            "body_id": body_id,
            "level": level,
        }
        async with cases.sessionmaker() as session:
            rows, after = await cases.store.page(
                session, scope_of(principal), filters, cursor=cursor, limit=limit
            )
        items = [out_of(r, cases.rules(r.jurisdiction, r.level)) for r in rows]
        return CasePage(items=items, next_cursor=after)

    @api.get(
        "/v1/cases/{case_id}",
        response_model=CaseOut,
        summary="One case, with the steps it allows now",
        responses=problem_responses(401, 403, 404),
    )
    async def get_case(case_id: CaseId, principal: Reader) -> CaseOut:
        async with cases.sessionmaker() as session:
            case = cases.readable(principal, await cases.store.get(session, case_id), case_id)
        return out_of(case, cases.rules(case.jurisdiction, case.level))

    @api.get(
        "/v1/cases/{case_id}/form.docx",
        response_class=Response,
        summary="The warning-information form as a Word document (预警信息情况表)",
        description="草稿 (a draft from the incident) until filed; A4, to print and stamp.",
        responses={
            200: {"content": {DOCX: {}}, "description": "the form (.docx)"},
            **problem_responses(401, 403, 404),
        },
    )
    async def form_docx(case_id: CaseId, principal: Reader) -> Response:
        return await _form_docx(cases, case_id, principal)


async def _form_docx(cases: Cases, case_id: str, principal: Principal) -> Response:
    async with cases.sessionmaker() as session:
        case = cases.readable(principal, await cases.store.get(session, case_id), case_id)
    jurisdiction = cases.registry.get(case.jurisdiction)
    assert jurisdiction is not None
    document = render_form(case, jurisdiction)
    name = f"预警信息情况表-{case.id[:8]}.docx"
    disposition = (
        f"attachment; filename=\"form-{case.id[:8]}.docx\"; filename*=UTF-8''{quote(name)}"
    )
    return Response(document, media_type=DOCX, headers={"Content-Disposition": disposition})


# The steps: (path, body, operation, method, status, summary).
_STEPS: tuple[tuple[str, type[BaseModel], Operation, str, int, str], ...] = (
    ("plan", PlanIn, acts.plan, "PUT", 200, "Submit or revise the disposal plan (处置预案)"),
    (
        "approval",
        ApprovalIn,
        acts.approval,
        "POST",
        200,
        "The approver's decision on the plan (报局长审定)",
    ),
    ("progress", ProgressIn, acts.progress, "POST", 201, "Record the response's progress"),
    (
        "government-reports",
        GovernmentReportIn,
        acts.government_report,
        "POST",
        201,
        "Report to the government body (市政府专报)",
    ),
    ("close", CloseIn, acts.close, "POST", 200, "Close the case; its incident closes with it"),
    ("form", FormIn, acts.form, "PUT", 200, "File the warning-information form (预警信息情况表)"),
)


def _steps(api: APIRouter, cases: Cases) -> None:
    for path, model, act, method, status_code, summary in _STEPS:
        api.add_api_route(
            f"/v1/cases/{{case_id}}/{path}",
            _step_route(cases, path, model, act, status_code),
            methods=[method],
            status_code=status_code,
            response_model=CaseOut,
            summary=summary,
            responses=problem_responses(*_ACTS),
            name=f"case_{path.replace('-', '_')}",
        )


def _step_route(
    cases: Cases, path: str, model: type[BaseModel], act: Operation, status_code: int
) -> Callable[..., Awaitable[JSONResponse]]:
    async def route(case_id: CaseId, body: Any, principal: Actor, idem: Idem) -> JSONResponse:
        async def call() -> CaseOut:
            return await act(cases, case_id, body, principal)

        key = _Keyed(case_id=case_id, path=path, body=body.model_dump(mode="json"))
        return await idem.run(principal, key, call, status_code=status_code)

    route.__annotations__["body"] = model  # the step's own body model
    return route


class _Keyed(BaseModel):
    """What an Idempotency-Key of a step stands for: the case, the step and the body."""

    case_id: str
    path: str
    body: dict[str, Any]

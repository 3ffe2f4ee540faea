"""处置 and 情况表: the cases' list, a case's page with the forms of the steps the signed-in
user may take now (plan, approval, progress, government report, close), and the
warning-information form: fill, file, download as `.docx`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console import casesteps, words
from services.console.client import Api, ApiError
from services.console.pages.dashboard import READERS, jurisdiction_of
from services.console.sessions import Signed
from services.console.web import Console, NavEntry, field_errors

FILTERS = ("status", "level")
DONE = {
    "plan": "处置预案已提交。",
    "approval": "审定意见已保存。",
    "progress": "处置进展已记录。",
    "government_report": "市政府专报已报送。",
    "close": "案件已办结。",
    "form": "预警信息情况表已报送。",
}


async def _case_view(console: Console, api: Api, signed: Signed, case_id: str) -> dict[str, Any]:
    """What a case's pages show: the case, its incident, the steps the user may take now."""
    case = await api.get(f"/v1/cases/{case_id}")
    try:
        incident = await api.get(f"/v1/incidents/{case['incident_id']}")
    except ApiError:
        incident = None
    registry = console.runtime.registry
    approver, _ = casesteps.rules(registry, case)
    return {
        "case": case,
        "incident": incident,
        "mine": casesteps.steps_for(signed.user.role, signed.user.body_id, case, registry),
        "stages": [(s, words.STAGES.get(s, s)) for s in casesteps.stages(case)],
        "approver": console.body_name(approver) if approver else None,
        "units": casesteps.handling_units(registry, case["jurisdiction"]),
    }


def router(console: Console) -> APIRouter:
    """The cases' routes."""
    console.add_page(NavEntry("cases", "处置", "/console/cases", READERS, 35))
    api_router = APIRouter(include_in_schema=False)
    _list(api_router, console)
    _form(api_router, console)

    @api_router.get("/console/cases/{case_id}")
    async def case_page(request: Request, case_id: str) -> Response:
        return await _show(console, request, "case.html", case_id)

    @api_router.post("/console/cases/{case_id}/steps/{step}")
    async def take(request: Request, case_id: str, step: str) -> Response:
        return await _take(console, request, case_id, step, "case.html")

    return api_router


async def _show(console: Console, request: Request, template: str, case_id: str) -> Response:
    """A case's page, or its 情况表."""
    signed = await console.signed(request, "cases")
    if isinstance(signed, Response):
        return signed
    return await _render(console, request, signed, template, case_id)


async def _render(
    console: Console,
    request: Request,
    signed: Signed,
    template: str,
    case_id: str,
    status: int = 200,
    **ctx: Any,
) -> Response:
    """Render a case's page; `ctx` carries a failed step's form and errors."""
    try:
        view = await _case_view(console, console.api(request, signed), signed, case_id)
    except ApiError as problem:
        return console.render(
            request,
            "error.html",
            signed,
            status=problem.status,
            title="无法查看该案件",
            message=console.api_error(problem),
        )
    done = DONE.get(request.query_params.get("done", ""))
    ctx = {"failed": None, "errors": {}, "error": None, "form": {}, "done": done} | ctx
    return console.render(request, template, signed, status=status, **view, **ctx)


async def _take(
    console: Console, request: Request, case_id: str, step: str, template: str
) -> Response:
    """Send a step's form to the API; on a problem, the page again with it by its fields."""
    got = await console.form(request, "cases")
    if isinstance(got, Response):
        return got
    signed, form = got
    call = casesteps.STEP_CALLS.get(step)
    if call is None:
        return console.render(
            request, "error.html", signed, status=404, title="未找到", message="没有这一步骤。"
        )
    path = f"/v1/cases/{case_id}/{call.path}"
    try:
        await console.api(request, signed).call(call.method, path, json=call.body(form))
    except ApiError as problem:
        return await _render(
            console,
            request,
            signed,
            template,
            case_id,
            problem.status,
            failed=step,
            errors=field_errors(problem),
            error=console.api_error(problem),
            form=form,
        )
    where = "/form" if template == "case_form.html" else ""
    return RedirectResponse(f"/console/cases/{case_id}{where}?done={step}", status_code=303)


def _list(api_router: APIRouter, console: Console) -> None:
    @api_router.get("/console/cases")
    async def cases(request: Request) -> Response:
        signed = await console.signed(request, "cases")
        if isinstance(signed, Response):
            return signed
        api = console.api(request, signed)
        q = request.query_params
        chosen = {k: q.get(k, "") for k in FILTERS}
        jurisdiction, every = await jurisdiction_of(api, q.get("j") or signed.user.jurisdiction)
        try:
            page = await api.get(
                "/v1/cases",
                jurisdiction=jurisdiction["id"],
                limit=25,
                cursor=q.get("cursor"),
                **chosen,
            )
            error, errors = None, {}
        except ApiError as problem:
            page = {"items": [], "next_cursor": None}
            error, errors = console.api_error(problem), field_errors(problem)
        query = urlencode({"j": jurisdiction["id"], **{k: v for k, v in chosen.items() if v}})
        return console.render(
            request,
            "cases.html",
            signed,
            page=page,
            chosen=chosen,
            jurisdiction=jurisdiction,
            jurisdictions=every,
            error=error,
            errors=errors,
            query=query,
        )


def _form(api_router: APIRouter, console: Console) -> None:
    @api_router.get("/console/cases/{case_id}/form")
    async def form_page(request: Request, case_id: str) -> Response:
        return await _show(console, request, "case_form.html", case_id)

    @api_router.post("/console/cases/{case_id}/form")
    async def file_form(request: Request, case_id: str) -> Response:
        return await _take(console, request, case_id, "form", "case_form.html")

    @api_router.get("/console/cases/{case_id}/form.docx")
    async def form_docx(request: Request, case_id: str) -> Response:
        signed = await console.signed(request, "cases")
        if isinstance(signed, Response):
            return signed
        try:
            got = await console.api(request, signed).download(f"/v1/cases/{case_id}/form.docx")
        except ApiError as problem:
            return console.render(
                request,
                "error.html",
                signed,
                status=problem.status,
                title="无法下载情况表",
                message=console.api_error(problem),
            )
        headers = {
            "Content-Disposition": got.headers.get("content-disposition", "attachment"),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
        return Response(got.content, media_type=got.headers["content-type"], headers=headers)

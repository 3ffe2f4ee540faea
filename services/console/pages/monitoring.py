"""定点监测: the register of monitored enterprises, an enterprise's monthly figures and alerts,
the alerts list, the register form (analysts, admins) and the monthly upload (reporters,
admins)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.console import labels, sessions
from services.console.client import Api, ApiError
from services.console.pages.dashboard import jurisdiction_of
from services.console.sessions import Signed
from services.console.web import Console, NavEntry, same_origin

READERS = frozenset({"analyst", "responder", "admin"})
SENDERS = frozenset({"reporter", "admin"})
KEEPERS = frozenset({"analyst", "admin"})
Render = Callable[..., Awaitable[Response]]
HREF = "/console/monitoring"
HREF_API = "/v1/monitoring/enterprises"
UPLOAD = "/console/observations"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024
SPARKS = (
    "headcount",
    "wages_due_yuan",
    "wages_paid_yuan",
    "social_insurance_arrears_months",
    "layoffs",
    "disputes",
)


def sparks(observations: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each indicator's small chart: (id, Chinese name, its data as JSON), oldest month first."""
    ordered = sorted(observations, key=lambda o: o["period"])
    periods = [o["period"][2:] for o in ordered]
    drawn = []
    for key in SPARKS:
        name = labels.INDICATORS[key]
        values = [float(o[key]) for o in ordered]
        data = {"periods": periods, "values": values, "name": name}
        drawn.append((f"spark-{key}", name, json.dumps(data, ensure_ascii=False)))
    return drawn


def _register_page(console: Console) -> Render:
    """The register page: the enterprises, the alerts and, for keepers, the form."""

    async def register(
        request: Request, signed: Signed, status: int = 200, **extra: Any
    ) -> Response:
        api = console.api(request, signed)
        jurisdiction, every = await jurisdiction_of(
            api, request.query_params.get("j") or extra.pop("j", None)
        )
        j = jurisdiction["id"]
        values: dict[str, Any] = {"errors": {}, "error": None, "done": None, "form": {}}
        values.update(extra)
        return console.render(
            request,
            "monitoring.html",
            signed,
            status=status,
            jurisdiction=jurisdiction,
            jurisdictions=every,
            enterprises=[e async for e in api.every(HREF_API, pages=4, jurisdiction=j)],
            alerts=(await api.get("/v1/monitoring/alerts", jurisdiction=j, limit=50))["items"],
            may_keep=signed.user.role in KEEPERS,
            zh=labels,
            **values,
        )

    return register


def router(console: Console) -> APIRouter:
    """The monitoring pages' routes."""
    may = labels.figures_reader(console.runtime.registry)
    console.add_page(NavEntry("monitoring", "定点监测", HREF, READERS, 70, may))
    console.add_page(NavEntry("monitoring-upload", "监测数据报送", UPLOAD, SENDERS, 71))
    api_router = APIRouter(include_in_schema=False)

    register = _register_page(console)

    @api_router.get(HREF)
    async def monitoring(request: Request) -> Response:
        signed = await console.signed(request, "monitoring")
        if isinstance(signed, Response):
            return signed
        return await register(request, signed)

    @api_router.post(HREF + "/enterprises")
    async def put_enterprise(request: Request) -> Response:
        got = await console.form(request, "monitoring")
        if isinstance(got, Response):
            return got
        signed, form = got
        if signed.user.role not in KEEPERS:
            return console.render(request, "forbidden.html", signed, status=403)
        try:
            said = await _put(console.api(request, signed), form)
        except ApiError as error:
            return await register(
                request,
                signed,
                status=error.status,
                j=form.get("jurisdiction"),
                form=form,
                error=labels.problem_zh(error),
                errors=labels.form_errors(error.errors),
            )
        return await register(request, signed, j=form.get("jurisdiction"), done=said)

    _enterprise_route(api_router, console)
    _upload_routes(api_router, console)
    return api_router


async def _put(api: Api, form: dict[str, str]) -> str:
    code = form.get("credit_code", "").strip().upper()
    headcount = form.get("headcount", "").strip()
    body = {
        "name": form.get("name", "").strip(),
        "jurisdiction": form.get("jurisdiction", ""),
        "region": form.get("region", ""),
        "industry": form.get("industry", "").strip() or None,
        "headcount": int(headcount) if headcount.isdigit() else (headcount or None),
        "reason": form.get("reason", "other"),
        "note": form.get("note", "").strip() or None,
    }
    if len(code) != 18:
        raise ApiError(
            422,
            "credit_code: not a valid credit code",
            [{"loc": ["path", "credit_code"], "msg": "not a valid credit code"}],
        )
    await api.put(f"{HREF_API}/{code}", body)
    return f"已登记：{body['name']}（{code}）"


def _enterprise_route(api_router: APIRouter, console: Console) -> None:
    @api_router.get(HREF + "/enterprises/{credit_code}")
    async def enterprise(request: Request, credit_code: str) -> Response:
        signed = await console.signed(request, "monitoring")
        if isinstance(signed, Response):
            return signed
        api = console.api(request, signed)
        try:
            found = await api.get(f"{HREF_API}/{credit_code}")
        except ApiError as error:
            return console.render(
                request,
                "error.html",
                signed,
                status=error.status,
                title="无法读取该企业",
                message=labels.problem_zh(error),
            )
        return console.render(
            request,
            "enterprise.html",
            signed,
            e=found,
            sparks=sparks(found["observations"]),
            zh=labels,
        )


def _upload_routes(api_router: APIRouter, console: Console) -> None:
    page = "monitoring-upload"

    @api_router.get(UPLOAD)
    async def upload_page(request: Request) -> Response:
        signed = await console.signed(request, page)
        if isinstance(signed, Response):
            return signed
        return console.render(request, "upload.html", signed, zh=labels, rows=[], result=None)

    @api_router.post(UPLOAD)
    async def upload(request: Request) -> Response:
        signed = await console.signed(request, page)
        if isinstance(signed, Response):
            return signed
        form = await request.form()
        if not same_origin(request) or not sessions.same(str(form.get("csrf")), signed.csrf):
            return console.refused(request, signed)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return console.render(
                request,
                "upload.html",
                signed,
                status=422,
                zh=labels,
                result=None,
                rows=["请选择要上传的 CSV 或 Excel（.xlsx）文件"],
            )
        data = await file.read(MAX_UPLOAD + 1)
        kind = XLSX if file.filename.lower().endswith(".xlsx") else "text/csv"
        try:
            result = await console.api(request, signed).send(
                "/v1/monitoring/observations", data, kind
            )
        except ApiError as error:
            rows = labels.upload_errors(error.errors) or [labels.problem_zh(error)]
            return console.render(
                request,
                "upload.html",
                signed,
                status=error.status,
                zh=labels,
                result=None,
                rows=rows,
                error=labels.problem_zh(error),
                filename=file.filename,
            )
        return console.render(
            request,
            "upload.html",
            signed,
            zh=labels,
            rows=[],
            result=result,
            filename=file.filename,
        )

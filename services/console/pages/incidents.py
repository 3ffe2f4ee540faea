"""预警事件: the list with filters and paging, one incident's page, and the assessment (评估)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.client import Api, ApiError
from services.console.pages.dashboard import READERS, jurisdiction_of
from services.console.web import Console, NavEntry, field_errors

FILTERS = ("level", "status", "region", "category", "kind")
ASSESSORS = frozenset({"responder", "admin"})
PER_LEVEL = 50  # warnings awaiting assessment shown per level


async def _incident_view(api: Api, incident_id: str) -> dict[str, Any]:
    incident = await api.get(f"/v1/incidents/{incident_id}")
    reports = []
    for report_id in incident["report_ids"][:20]:
        try:
            reports.append(await api.get(f"/v1/reports/{report_id}"))
        except ApiError:
            reports.append({"id": report_id, "unreadable": True})
    page = await api.get("/v1/notifications", incident_id=incident_id, limit=100)
    every = (await api.get("/v1/jurisdictions"))["items"]
    found: dict[str, Any] = next(
        (j for j in every if j["id"] == incident["jurisdiction"]), {"levels": []}
    )
    levels = sorted(found["levels"], key=lambda lvl: -int(lvl["rank"]))
    return {
        "incident": incident,
        "reports": reports,
        "notifications": page["items"],
        "levels": levels,
    }


def router(console: Console) -> APIRouter:
    """The incidents' routes."""
    console.add_page(NavEntry("incidents", "预警事件", "/console/incidents", READERS, 20))
    console.add_page(NavEntry("assess", "评估", "/console/assess", ASSESSORS, 40))
    api_router = APIRouter(include_in_schema=False)
    _list(api_router, console)
    _assessment(api_router, console)

    @api_router.get("/console/incidents/{incident_id}")
    async def incident(request: Request, incident_id: str) -> Response:
        signed = await console.signed(request, "incidents")
        if isinstance(signed, Response):
            return signed
        try:
            view = await _incident_view(console.api(request, signed), incident_id)
        except ApiError as problem:
            return console.render(
                request,
                "error.html",
                signed,
                status=problem.status,
                title="无法查看该事件",
                message=console.api_error(problem),
            )
        may = console.may_assess(signed.user, view["incident"]["jurisdiction"])
        return console.render(
            request, "incident.html", signed, errors={}, error=None, may_assess=may, **view
        )

    return api_router


def _list(api_router: APIRouter, console: Console) -> None:
    @api_router.get("/console/incidents")
    async def incidents(request: Request) -> Response:
        signed = await console.signed(request, "incidents")
        if isinstance(signed, Response):
            return signed
        api = console.api(request, signed)
        q = request.query_params
        chosen = {k: q.get(k, "") for k in FILTERS}
        try:
            jurisdiction, every = await jurisdiction_of(api, q.get("j") or signed.user.jurisdiction)
            page = await api.get(
                "/v1/incidents",
                jurisdiction=jurisdiction["id"],
                limit=25,
                cursor=q.get("cursor"),
                **chosen,
            )
            error, errors = None, {}
        except ApiError as problem:
            jurisdiction, every = await jurisdiction_of(api, signed.user.jurisdiction)
            page = {"items": [], "next_cursor": None}
            error, errors = console.api_error(problem), field_errors(problem)
        template = "incident_rows.html" if request.headers.get("hx-request") else "incidents.html"
        return console.render(
            request,
            template,
            signed,
            page=page,
            chosen=chosen,
            jurisdiction=jurisdiction,
            jurisdictions=every,
            error=error,
            errors=errors,
            query=_query(chosen, jurisdiction),
        )


def _query(chosen: dict[str, str], jurisdiction: dict[str, Any]) -> str:
    return urlencode({"j": jurisdiction["id"], **{k: v for k, v in chosen.items() if v}})


async def _awaiting(api: Api, jurisdiction: dict[str, Any]) -> list[dict[str, Any]]:
    """The open warnings awaiting assessment, most severe level first: each level's newest
    `PER_LEVEL`, asked at once, and whether it has more."""
    levels = sorted(jurisdiction["levels"], key=lambda lvl: -int(lvl["rank"]))
    pages = await asyncio.gather(
        *(
            api.get(
                "/v1/incidents",
                jurisdiction=jurisdiction["id"],
                status="open",
                provisional="true",
                level=lvl["id"],
                limit=PER_LEVEL,
            )
            for lvl in levels
        )
    )
    return [
        {"level": lvl, "items": page["items"], "more": page["next_cursor"] is not None}
        for lvl, page in zip(levels, pages, strict=True)
    ]


def _assessment(api_router: APIRouter, console: Console) -> None:
    @api_router.get("/console/assess")
    async def provisional(request: Request) -> Response:
        signed = await console.signed(request, "assess")
        if isinstance(signed, Response):
            return signed
        api = console.api(request, signed)
        jurisdiction, every = await jurisdiction_of(
            api, request.query_params.get("j") or signed.user.jurisdiction
        )
        groups = await _awaiting(api, jurisdiction)
        return console.render(
            request,
            "assess.html",
            signed,
            groups=groups,
            per_level=PER_LEVEL,
            may_assess=console.may_assess(signed.user, jurisdiction["id"]),
            jurisdiction=jurisdiction,
            jurisdictions=every,
        )

    @api_router.post("/console/incidents/{incident_id}/assessment")
    async def assess(request: Request, incident_id: str) -> Response:
        got = await console.form(request, "assess")
        if isinstance(got, Response):
            return got
        signed, form = got
        decision = form.get("decision", "confirm")
        body: dict[str, Any] = {"decision": decision, "reason": form.get("reason") or None}
        if decision == "set_level":
            body["level"] = form.get("level") or None
        api = console.api(request, signed)
        try:
            await api.post(f"/v1/incidents/{incident_id}/assessment", body)
        except ApiError as problem:
            view = await _incident_view(api, incident_id)
            return console.render(
                request,
                "incident.html",
                signed,
                status=problem.status,
                errors=field_errors(problem),
                error=console.api_error(problem),
                form=form,
                may_assess=console.may_assess(signed.user, view["incident"]["jurisdiction"]),
                **view,
            )
        return RedirectResponse(f"/console/incidents/{incident_id}?assessed=1", status_code=303)

"""总览: the dashboard of the signed-in user's scope."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from services.console import figures
from services.console.client import Api, ApiError
from services.console.web import Console, NavEntry

READERS = frozenset({"analyst", "responder", "admin"})
log = logging.getLogger(__name__)


async def jurisdiction_of(api: Api, wanted: str | None) -> tuple[dict[str, Any], list[Any]]:
    """The jurisdiction the page shows (the user's, or the one asked for) and all of them."""
    every = (await api.get("/v1/jurisdictions"))["items"]
    chosen = next((j for j in every if j["id"] == wanted), every[0])
    return chosen, every


async def _statistics(api: Api, j: str, span: dict[str, str]) -> dict[str, Any] | None:
    """Insight's statistics of a range, or None where they are refused or out of reach."""
    try:
        found: dict[str, Any] = await api.get("/v1/statistics", jurisdiction=j, **span)
    except (ApiError, httpx.HTTPError) as error:
        log.info("statistics unavailable for the dashboard: %r", error)
        return None
    return found


async def _overdue(api: Api, j: str) -> int:
    """How many notifications of the jurisdiction are overdue now."""
    overdue = api.every("/v1/notifications", status="overdue")
    return len([n async for n in overdue if n["jurisdiction"] == j])


async def _figures(api: Api, jurisdiction: dict[str, Any]) -> dict[str, Any]:
    """The open warnings per level and region (from grading), overdue notifications (from the
    notifier), and the year's trend and the quarter's on-time rate (from insight's
    statistics), asked at once."""
    now = dt.datetime.now(dt.UTC)
    j = jurisdiction["id"]
    months = figures.last_months(now)
    since = figures.quarter_start(now)
    year, quarter, open_, overdue = await asyncio.gather(
        _statistics(api, j, figures.statistics_range(now, months)),
        _statistics(api, j, figures.statistics_range(now, [since.strftime("%Y-%m")])),
        api.get("/v1/incidents/open-warnings", jurisdiction=j),
        _overdue(api, j),
    )
    return {
        "levels": figures.by_level(open_["by_level"], jurisdiction["levels"]),
        "open_count": sum(open_["by_level"].values()),
        "overdue": overdue,
        "statistics": year is not None and quarter is not None,
        "on_time": figures.on_time(quarter["notifications"]) if quarter else None,
        "quarter": since,
        "months": months,
        "trend": figures.trend(year["by_month"], months) if year else {},
        "highest": open_["by_region"],
        "tiles": figures.tiles(list(jurisdiction["regions"])),
    }


def router(console: Console) -> APIRouter:
    """The dashboard's route."""
    console.add_page(NavEntry("dashboard", "总览", "/console/", READERS, 10))
    api_router = APIRouter(include_in_schema=False)

    @api_router.get("/console/")
    async def dashboard(request: Request, j: str | None = None) -> Response:
        signed = await console.signed(request)
        if isinstance(signed, Response):
            return signed
        if signed.user.role not in READERS:
            return console.render(request, "home.html", signed)
        api = console.api(request, signed)
        try:
            jurisdiction, every = await jurisdiction_of(api, j or signed.user.jurisdiction)
            data = await _figures(api, jurisdiction)
        except ApiError as error:
            return console.render(
                request,
                "error.html",
                signed,
                status=502,
                title="无法读取数据",
                message=console.api_error(error),
            )
        has_shapes = console.region_shapes(jurisdiction["id"]) is not None
        return console.render(
            request,
            "dashboard.html",
            signed,
            geo_url=f"/console/geo/{jurisdiction['id']}.geojson" if has_shapes else None,
            jurisdiction=jurisdiction,
            jurisdictions=every,
            changed=request.query_params.get("changed") == "1",
            **_drawings(data, jurisdiction),
            **data,
        )

    _shapes_route(api_router, console)
    return api_router


def _drawings(data: dict[str, Any], jurisdiction: dict[str, Any]) -> dict[str, Any]:
    """What the page's scripts draw, as JSON: the trend per level, each region's level."""
    chart = {
        "months": data["months"],
        "series": [
            {"name": lvl["label"], "id": lvl["id"], "data": data["trend"].get(lvl["id"], [])}
            for lvl, _ in data["levels"]
        ],
    }
    shaded = [
        {"name": r["name"], "level": (data["highest"].get(r["id"]) or {}).get("level")}
        for r in jurisdiction["regions"]
    ]
    return {
        "chart_json": json.dumps(chart, ensure_ascii=False),
        "regions_json": json.dumps(shaded, ensure_ascii=False),
    }


def _shapes_route(api_router: APIRouter, console: Console) -> None:
    @api_router.get("/console/geo/{jurisdiction}.geojson")
    async def shapes(request: Request, jurisdiction: str) -> Response:
        signed = await console.signed(request, "dashboard")
        if isinstance(signed, Response):
            return signed
        found = console.region_shapes(jurisdiction)
        if found is None:
            return Response(status_code=404)
        return FileResponse(found, media_type="application/geo+json")

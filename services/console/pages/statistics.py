"""统计与简报: a period's statistics, the briefings (download, the office's analysis, issue)
and the review meetings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import labels
from services.console.client import Api, ApiError
from services.console.pages.dashboard import jurisdiction_of
from services.console.sessions import Signed
from services.console.web import SHANGHAI, Console, NavEntry

READERS = frozenset({"analyst", "responder", "admin"})
PAGE = "statistics"
Render = Callable[..., Awaitable[Response]]
HREF = "/console/statistics"


def today() -> dt.date:
    """Today in Asia/Shanghai."""
    return dt.datetime.now(SHANGHAI).date()


def picked(query: dict[str, str]) -> tuple[dt.date, dt.date, str | None]:
    """The period the user picked: a quick choice, or from/to (this quarter by default)."""
    quick = labels.quick_ranges(today())
    if query.get("quick") in quick:
        _, start, end = quick[query["quick"]]
        return start, end, query["quick"]
    _, start, end = quick["quarter"]
    return labels.day(query.get("from"), start), labels.day(query.get("to"), end), None


def _drawings(stats: dict[str, Any], console: Console) -> str:
    """What the charts draw: warnings per month, and each body's on-time record."""
    bodies = stats["notifications"]["by_body"]
    return json.dumps(
        {
            "months": [m["month"] for m in stats["by_month"]],
            "reports": [m["reports"] for m in stats["by_month"]],
            "warnings": [m["warnings"] for m in stats["by_month"]],
            "bodies": [console.body_name(b) for b in bodies],
            "on_time": [v["on_time"] for v in bodies.values()],
            "late": [v["late"] for v in bodies.values()],
        },
        ensure_ascii=False,
    )


async def _view(api: Api, console: Console, query: dict[str, str]) -> dict[str, Any]:
    jurisdiction, every = await jurisdiction_of(api, query.get("j"))
    start, end, quick = picked(query)
    values: dict[str, Any] = {"stats": None, "error": None, "errors": {}}
    try:
        stats = await api.get(
            "/v1/statistics",
            jurisdiction=jurisdiction["id"],
            to=end.isoformat(),
            **{"from": start.isoformat()},
        )
        values.update(stats=stats, chart_json=_drawings(stats, console))
    except ApiError as error:
        values.update(error=labels.problem_zh(error), errors=labels.form_errors(error.errors))
    reviews = await api.get(
        "/v1/reviews",
        jurisdiction=jurisdiction["id"],
        to=end.isoformat(),
        **{"from": start.isoformat()},
    )
    return {
        "jurisdiction": jurisdiction,
        "jurisdictions": every,
        "start": start,
        "end": end,
        "quick": quick,
        "quick_ranges": labels.quick_ranges(today()),
        "periods": labels.briefing_periods(today(), start),
        "reviews": reviews["items"],
        "zh": labels,
        **values,
    }


def router(console: Console) -> APIRouter:
    """The statistics page's routes."""
    may = labels.figures_reader(console.runtime.registry)
    console.add_page(NavEntry(PAGE, "统计与简报", HREF, READERS, 60, may))
    api_router = APIRouter(include_in_schema=False)

    async def page(request: Request, signed: Signed, status: int = 200, **extra: Any) -> Response:
        query = {**request.query_params, **extra.pop("query", {})}
        view = await _view(console.api(request, signed), console, query)
        view.update(extra)
        return console.render(request, "statistics.html", signed, status=status, **view)

    @api_router.get(HREF)
    async def statistics(request: Request) -> Response:
        signed = await console.signed(request, PAGE)
        if isinstance(signed, Response):
            return signed
        return await page(request, signed)

    _download_route(api_router, console, page)

    @api_router.post(HREF + "/{action}")
    async def act(request: Request, action: str) -> Response:
        got = await console.form(request, PAGE)
        if isinstance(got, Response):
            return got
        signed, form = got
        back = {"j": form.get("j", ""), "from": form.get("from", ""), "to": form.get("to", "")}
        try:
            done = await _do(console.api(request, signed), action, form)
        except ApiError as error:
            return await page(
                request,
                signed,
                status=error.status,
                query=back,
                form=form,
                action=action,
                error=labels.problem_zh(error),
                errors=labels.form_errors(error.errors),
            )
        return await page(request, signed, query=back, done=done)

    return api_router


async def _do(api: Api, action: str, form: dict[str, str]) -> str:
    j, period = form.get("j", ""), form.get("period", "")
    where = f"/v1/briefings/{quote(j)}/{quote(period)}"
    if action == "narrative":
        body = {key: form.get(key, "") for key, _ in labels.NARRATIVE}
        await api.put(f"{where}/narrative", body)
        return f"{labels.period_zh(period)}简报的形势研判已保存"
    if action == "issue":
        issued = await api.post(f"{where}/issue", {})
        return (
            f"{labels.period_zh(period)}简报已印发：{issued['period'][:4]}年第{issued['number']}期"
        )
    if action == "review":
        await api.post("/v1/reviews", review_of(form))
        return "会商记录已保存"
    raise ApiError(status=404, detail=f"unknown action {action}", errors=[])


def review_of(form: dict[str, str]) -> dict[str, Any]:
    """The review meeting of the form: `held_at` as Shanghai's time, lists one a line."""
    held = form.get("held_at", "")
    try:
        at = dt.datetime.fromisoformat(held).replace(tzinfo=SHANGHAI).isoformat()
    except ValueError:
        at = held
    split = [x.strip() for x in form.get("incident_ids", "").replace(",", "\n").split()]
    return {
        "jurisdiction": form.get("j", ""),
        "held_at": at,
        "kind": form.get("kind", "regular"),
        "attendees": [a.strip() for a in form.get("attendees", "").splitlines() if a.strip()],
        "incident_ids": [x for x in split if x],
        "conclusions": form.get("conclusions", ""),
        "measures": form.get("measures", ""),
    }


def _download_route(api_router: APIRouter, console: Console, page: Render) -> None:
    """A briefing streamed through the console, fetched as the signed-in user."""

    @api_router.get(HREF + "/briefings/{jurisdiction}/{period}.{kind}")
    async def download(request: Request, jurisdiction: str, period: str, kind: str) -> Response:
        signed = await console.signed(request, PAGE)
        if isinstance(signed, Response):
            return signed
        if kind not in ("docx", "xlsx"):
            return Response(status_code=404)
        path = f"/v1/briefings/{quote(jurisdiction)}/{quote(period)}.{kind}"
        try:
            got = await console.api(request, signed).download(path)
        except ApiError as error:
            return await page(request, signed, status=error.status, error=labels.problem_zh(error))
        name = quote(f"{console.jurisdiction_name(jurisdiction)}-{labels.period_zh(period)}.{kind}")
        return Response(
            got.content,
            media_type=got.headers.get("content-type"),
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )

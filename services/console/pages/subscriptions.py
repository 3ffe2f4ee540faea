"""系统管理 → 共享订阅 (admin): partner departments' subscriptions, their deliveries,
redelivery, resuming a paused one, deleting one. The secret is shown once, at creation."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import labels
from services.console.client import Api, ApiError
from services.console.sessions import Signed
from services.console.web import Console

HREF = "/console/admin/subscriptions"
PAGE = "admin"


def subscription_of(form: dict[str, str], events: list[str]) -> dict[str, Any]:
    """The subscription the form describes."""

    def listed(name: str) -> list[str] | None:
        found = [x.strip() for x in form.get(name, "").replace("，", ",").split(",") if x.strip()]
        return found or None

    rank = form.get("min_level_rank", "0").strip()
    return {
        "name": form.get("name", "").strip(),
        "department": form.get("department", "").strip(),
        "jurisdiction": form.get("jurisdiction", ""),
        "url": form.get("url", "").strip(),
        "events": events,
        "min_level_rank": int(rank) if rank.isdigit() else rank,
        "regions": listed("regions"),
        "categories": listed("categories"),
    }


def router(console: Console) -> APIRouter:
    """The subscriptions' routes (under the admin page: no navigation entry of their own)."""
    api_router = APIRouter(include_in_schema=False)

    async def page(request: Request, signed: Signed, status: int = 200, **extra: Any) -> Response:
        api = console.api(request, signed)
        chosen = request.query_params.get("id") or extra.pop("chosen", None)
        values: dict[str, Any] = {"errors": {}, "error": None, "done": None, "form": {}}
        values.update(extra)
        return console.render(
            request,
            "subscriptions.html",
            signed,
            status=status,
            subscriptions=[s async for s in api.every("/v1/subscriptions", pages=4)],
            chosen=chosen,
            deliveries=await _deliveries(api, chosen),
            jurisdictions=(await api.get("/v1/jurisdictions"))["items"],
            zh=labels,
            request_key=secrets.token_hex(16),
            **values,
        )

    @api_router.get(HREF)
    async def subscriptions(request: Request) -> Response:
        signed = await console.signed(request, PAGE)
        if isinstance(signed, Response):
            return signed
        return await page(request, signed)

    @api_router.post(HREF + "/{action}")
    async def act(request: Request, action: str) -> Response:
        got = await console.form(request, PAGE)
        if isinstance(got, Response):
            return got
        signed, form = got
        # The form's checkboxes: every value of `events` (the form's dict keeps only one).
        events = [str(v) for v in (await request.form()).getlist("events")]
        chosen = form.get("id") or None
        try:
            said = await _do(console.api(request, signed), action, form, events)
        except ApiError as error:
            return await page(
                request,
                signed,
                status=error.status,
                chosen=chosen,
                form=form,
                events=events,
                error=labels.problem_zh(error),
                errors=labels.form_errors(error.errors),
            )
        return await page(request, signed, chosen=said.pop("chosen", chosen), **said)

    return api_router


async def _deliveries(api: Api, chosen: str | None) -> list[dict[str, Any]] | None:
    if not chosen:
        return None
    try:
        found = await api.get(f"/v1/subscriptions/{quote(chosen)}/deliveries", limit=50)
    except ApiError:
        return None
    items: list[dict[str, Any]] = found["items"]
    return items


async def _do(api: Api, action: str, form: dict[str, str], events: list[str]) -> dict[str, Any]:
    sid = quote(form.get("id", "-"))
    if action == "new":
        # The form's own key: sending the same form again (a reload) creates no second one.
        made = await api.call(
            "POST",
            "/v1/subscriptions",
            json=subscription_of(form, events),
            extra_headers={"Idempotency-Key": form.get("request_key") or secrets.token_hex(16)},
        )
        return {"shown": (made["name"], made["secret"]), "chosen": made["id"]}
    if action == "resume":
        await api.post(f"/v1/subscriptions/{sid}/resume", {})
        return {"done": "订阅已恢复，待发送的消息将立即推送"}
    if action == "redeliver":
        event = quote(form.get("event_id", "-"), safe="")
        await api.post(f"/v1/subscriptions/{sid}/deliveries/{event}/redeliver", {})
        return {"done": "已重新推送该消息"}
    if action == "delete":
        await api.delete(f"/v1/subscriptions/{sid}")
        return {"done": "订阅已删除", "chosen": None}
    raise ApiError(status=404, detail=f"unknown action {action}", errors=[])

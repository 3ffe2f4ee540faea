"""待办: the pending notifications of the user's body, most urgent first; acknowledge them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.client import ApiError
from services.console.sessions import Signed
from services.console.web import Console, NavEntry, field_errors

RESPONDERS = frozenset({"responder", "admin"})


def router(console: Console) -> APIRouter:
    """The to-do list's routes."""
    console.add_page(NavEntry("todo", "待办", "/console/todo", RESPONDERS, 30))
    api_router = APIRouter(include_in_schema=False)

    async def page(request: Request, signed: Signed, status: int = 200, **extra: Any) -> Response:
        api = console.api(request, signed)
        body = signed.user.body_id
        items = [
            n
            async for n in api.every("/v1/notifications", status="pending", body_id=body)
            if n["kind"] == "responsible"
        ]
        items += [n async for n in api.every("/v1/notifications", status="overdue", body_id=body)]
        items.sort(key=lambda n: (n["due_at"] or "9999", -n["level_rank"]))
        return console.render(request, "todo.html", signed, status=status, items=items, **extra)

    @api_router.get("/console/todo")
    async def todo(request: Request) -> Response:
        signed = await console.signed(request, "todo")
        if isinstance(signed, Response):
            return signed
        done = request.query_params.get("done")
        return await page(request, signed, done=done, errors={}, error=None, failed=None)

    @api_router.post("/console/todo/{notification_id}/ack")
    async def acknowledge(request: Request, notification_id: str) -> Response:
        got = await console.form(request, "todo")
        if isinstance(got, Response):
            return got
        signed, form = got
        try:
            await console.api(request, signed).post(
                f"/v1/notifications/{notification_id}/ack", {"note": form.get("note") or None}
            )
        except ApiError as problem:
            return await page(
                request,
                signed,
                status=problem.status,
                done=None,
                failed=notification_id,
                errors=field_errors(problem),
                error=console.api_error(problem),
            )
        return RedirectResponse(f"/console/todo?done={notification_id}", status_code=303)

    return api_router

"""The notifier's routes: notifications, acknowledgement, on-time statistics, channels, and the
one-click acknowledgement pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from libs.common.auth import Principal, Role, require
from libs.common.problems import Problem, problem_responses
from libs.common.queries import known_body, known_places
from services.notifier import operations, pages
from services.notifier.domain import ClosedReason, Status, Via
from services.notifier.links import BadLink
from services.notifier.schemas import (
    AckIn,
    ChannelList,
    ChannelOut,
    ChannelsIn,
    NotificationOut,
    NotificationPage,
    OnTimeStats,
)
from services.notifier.service import Notifier, out_of
from services.notifier.store import Filters
from services.notifier.tables import Channel

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Responder = Annotated[Principal, require(Role.RESPONDER)]
Admin = Annotated[Principal, require()]
NotificationId = Annotated[str, Path(max_length=64)]
BodyId = Annotated[str, Path(max_length=128)]
Token = Annotated[str, Path(max_length=300)]
_NOTE_LIMIT = 2000


def router(notifier: Notifier) -> APIRouter:
    """Build the notifier's router around its parts."""
    api = APIRouter()
    _notifications(api, notifier)
    _acknowledgement(api, notifier)
    _channels(api, notifier)
    _links(api, notifier)
    return api


def _notifications(api: APIRouter, notifier: Notifier) -> None:
    @api.get(
        "/v1/notifications",
        tags=["notifications"],
        response_model=NotificationPage,
        summary="List the notifications the caller reads, newest first",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_notifications(
        principal: Reader,
        incident_id: Annotated[str | None, Query(max_length=64)] = None,
        body_id: Annotated[str | None, Query(max_length=128)] = None,
        status: Annotated[Status | None, Query()] = None,
        closed_reason: Annotated[ClosedReason | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> NotificationPage:
        known_body(notifier.registry, body_id)
        filters = Filters(incident_id, body_id, status, closed_reason)
        rows, next_cursor = await operations.page(
            notifier, principal=principal, filters=filters, cursor=cursor, limit=limit
        )
        return NotificationPage(items=[out_of(r) for r in rows], next_cursor=next_cursor)

    @api.get(
        "/v1/notifications/on-time",
        tags=["notifications"],
        response_model=OnTimeStats,
        summary="On-time statistics per body (acknowledged within the limit)",
        responses=problem_responses(401, 403),
    )
    async def on_time(
        principal: Reader, jurisdiction: Annotated[str | None, Query(max_length=64)] = None
    ) -> OnTimeStats:
        known_places(notifier.registry, jurisdiction=jurisdiction, region=None)
        stats = await operations.on_time_stats(
            notifier, principal=principal, jurisdiction=jurisdiction
        )
        return OnTimeStats(items=stats)

    @api.get(
        "/v1/notifications/{notification_id}",
        tags=["notifications"],
        response_model=NotificationOut,
        summary="One notification",
        responses=problem_responses(401, 403, 404),
    )
    async def get_notification(
        notification_id: NotificationId, principal: Reader
    ) -> NotificationOut:
        return out_of(await operations.get(notifier, notification_id, principal=principal))


def _acknowledgement(api: APIRouter, notifier: Notifier) -> None:
    @api.post(
        "/v1/notifications/{notification_id}/ack",
        tags=["notifications"],
        response_model=NotificationOut,
        summary="Acknowledge a notification (the body's responder, or an admin)",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def acknowledge(
        notification_id: NotificationId, principal: Responder, body: AckIn | None = None
    ) -> NotificationOut:
        row = await operations.acknowledge(
            notifier,
            notification_id,
            principal=principal,
            note=body.note if body else None,
            via=Via.API,
        )
        return out_of(row)


def _channels(api: APIRouter, notifier: Notifier) -> None:
    @api.get(
        "/v1/bodies/{body_id}/channels",
        tags=["channels"],
        response_model=ChannelList,
        summary="A body's delivery channels (admin)",
        responses=problem_responses(401, 403),
    )
    async def get_channels(body_id: BodyId, principal: Admin) -> ChannelList:
        found = await operations.channels(notifier, body_id)
        return ChannelList(items=[_channel_out(c) for c in found])

    @api.put(
        "/v1/bodies/{body_id}/channels",
        tags=["channels"],
        response_model=ChannelList,
        summary="Set a body's delivery channels: webhook, email, SMS (admin)",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def put_channels(body_id: BodyId, body: ChannelsIn, principal: Admin) -> ChannelList:
        rows = await operations.set_channels(notifier, body_id, body.channels)
        return ChannelList(items=[_channel_out(c) for c in rows])


def _links(api: APIRouter, notifier: Notifier) -> None:
    @api.get(
        "/ack/{token}",
        tags=["notifications"],
        response_class=HTMLResponse,
        summary="The one-click acknowledgement page a message links to (HTML, Chinese)",
        responses={401: {"description": "a link that is not valid, or expired (HTML page)"}},
    )
    async def ack_page(token: Token, request: Request) -> HTMLResponse:
        try:
            notification_id = notifier.links.read(token, now=notifier.clock.now())
        except BadLink as exc:
            return _error(request, 401, str(exc))
        async with notifier.sessionmaker() as session:
            n = await notifier.store.get(session, notification_id)
        if n is None:
            return _error(request, 404, "此预警通知不存在。")
        return HTMLResponse(pages.ack_page(notifier.wording, n, action=f"/ack/{token}"))

    @api.post(
        "/ack/{token}",
        tags=["notifications"],
        response_class=HTMLResponse,
        summary="Acknowledge by a signed, expiring link, with a note (form); a page confirms",
        responses={401: {"description": "a link that is not valid, or expired (HTML page)"}},
    )
    async def ack_by_link(token: Token, request: Request) -> HTMLResponse:
        try:
            notification_id = notifier.links.read(token, now=notifier.clock.now())
        except BadLink as exc:
            return _error(request, 401, str(exc))
        note = _note(await request.body(), request.headers.get("content-type", ""))
        try:
            n = await operations.acknowledge(
                notifier, notification_id, principal=None, note=note, via=Via.LINK
            )
        except Problem as exc:  # a closed notification, or one that is gone
            if exc.status not in (404, 409) or "text/html" not in request.headers.get("accept", ""):
                raise
            async with notifier.sessionmaker() as session:
                found = await notifier.store.get(session, notification_id)
            if found is None:
                return _error(request, 404, "此预警通知不存在。")
            page = pages.ack_page(notifier.wording, found, action=f"/ack/{token}")
            return HTMLResponse(page, status_code=409)
        return HTMLResponse(pages.confirmation_page(notifier.wording, n))


def _error(request: Request, status: int, message: str) -> HTMLResponse:
    """An error of a link: a page for a browser, problem+json for any other client."""
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(pages.error_page(message), status_code=status)
    raise Problem(status, message)


def _note(body: bytes, content_type: str) -> str | None:
    """The note of a form (or JSON) body, trimmed and limited; None if there is none."""
    note: object = None
    try:
        if content_type.startswith("application/json"):
            parsed = orjson.loads(body) if body else {}
            note = parsed.get("note") if isinstance(parsed, dict) else None
        else:
            notes = parse_qs(body.decode("utf-8")).get("note")
            note = notes[0] if notes else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(note, str) or not note.strip():
        return None
    return note.strip()[:_NOTE_LIMIT]


def _channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        type=channel.type,
        target=channel.target,
        has_secret=channel.secret_sealed is not None,
        enabled=channel.enabled,
    )

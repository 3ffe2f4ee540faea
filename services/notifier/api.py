"""The notifier's routes: notifications, acknowledgement, on-time statistics, channels."""

from __future__ import annotations

import html
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from libs.common.auth import Principal, Role, require
from libs.common.problems import problem_responses
from services.notifier.schemas import (
    AckIn,
    ChannelList,
    ChannelOut,
    ChannelsIn,
    NotificationOut,
    NotificationPage,
    OnTimeStats,
)
from services.notifier.service import Notifier
from services.notifier.tables import Channel

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Responder = Annotated[Principal, require(Role.RESPONDER)]
Admin = Annotated[Principal, require()]
NotificationId = Annotated[str, Path(max_length=64)]
BodyId = Annotated[str, Path(max_length=128)]


def router(notifier: Notifier) -> APIRouter:
    """Build the notifier's router around its service object."""
    api = APIRouter()

    @api.get(
        "/v1/notifications",
        tags=["notifications"],
        response_model=NotificationPage,
        summary="List notifications, newest first",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_notifications(
        principal: Reader,
        incident_id: Annotated[str | None, Query(max_length=64)] = None,
        body_id: Annotated[str | None, Query(max_length=128)] = None,
        status: Annotated[Literal["pending", "acknowledged", "overdue"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> NotificationPage:
        rows, next_cursor = await notifier.page(
            principal=principal,
            limit=limit,
            cursor=cursor,
            incident_id=incident_id,
            body_id=body_id,
            status=status,
        )
        return NotificationPage(items=[notifier.to_out(r) for r in rows], next_cursor=next_cursor)

    @api.post(
        "/v1/notifications/{notification_id}/ack",
        tags=["notifications"],
        response_model=NotificationOut,
        summary="Acknowledge a notification (the body's responder, or an admin)",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def acknowledge(
        notification_id: NotificationId, principal: Responder, body: AckIn | None = None
    ) -> NotificationOut:
        actor = principal.body_id or f"admin:{principal.name}"
        row = await notifier.acknowledge(
            notification_id, actor=actor, note=body.note if body else None, principal=principal
        )
        return notifier.to_out(row)

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
        return OnTimeStats(
            items=await notifier.on_time(principal=principal, jurisdiction=jurisdiction)
        )

    @api.get(
        "/v1/bodies/{body_id}/channels",
        tags=["channels"],
        response_model=ChannelList,
        summary="A body's delivery channels (admin)",
        responses=problem_responses(401, 403),
    )
    async def get_channels(body_id: BodyId, principal: Admin) -> ChannelList:
        return ChannelList(items=[_channel_out(c) for c in await notifier.channels(body_id)])

    @api.put(
        "/v1/bodies/{body_id}/channels",
        tags=["channels"],
        response_model=ChannelList,
        summary="Set a body's delivery channels: webhook, email, SMS (admin)",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def put_channels(body_id: BodyId, body: ChannelsIn, principal: Admin) -> ChannelList:
        rows = await notifier.set_channels(body_id, body.channels)
        return ChannelList(items=[_channel_out(c) for c in rows])

    @api.get(
        "/ack/{token}",
        tags=["notifications"],
        response_class=HTMLResponse,
        summary="The one-click acknowledgement page a message links to",
        responses=problem_responses(401),
    )
    async def ack_page(token: Annotated[str, Path(max_length=300)]) -> HTMLResponse:
        notifier.read_ack_token(token)
        action = html.escape(f"/ack/{token}")
        return HTMLResponse(
            "<!doctype html><html lang=zh><meta charset=utf-8><title>确认收到预警</title>"
            "<body><h1>确认收到预警</h1>"
            f'<form method=post action="{action}"><button type=submit>确认收到</button>'
            "</form></body></html>"
        )

    @api.post(
        "/ack/{token}",
        tags=["notifications"],
        response_model=NotificationOut,
        summary="Acknowledge by a signed, expiring link",
        responses=problem_responses(401, 404),
    )
    async def ack_by_link(
        token: Annotated[str, Path(max_length=300)], request: Request
    ) -> NotificationOut:
        notification_id = notifier.read_ack_token(token)
        row = await notifier.acknowledge(notification_id, actor="link", note=None, principal=None)
        return notifier.to_out(row)

    return api


def _channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        type=channel.type,
        target=channel.target,
        has_secret=channel.secret_sealed is not None,
        enabled=channel.enabled,
    )

"""Sharing's routes (admin): subscriptions, their secrets, deliveries and redelivery."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.common.auth import Principal, require
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import problem_responses
from services.notifier.sharing import operations
from services.notifier.sharing.operations import delivery_out, out_of
from services.notifier.sharing.schemas import (
    DeliveryOut,
    DeliveryPage,
    SecretRotated,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
)
from services.notifier.sharing.service import Sharing

Admin = Annotated[Principal, require()]
SubscriptionId = Annotated[str, Path(max_length=64)]
EventId = Annotated[str, Path(max_length=200)]
Idem = Annotated[Idempotent, idempotency("notifier")]
_OVERLAP = (
    "Every delivery of the overlap carries both signatures (space-separated in "
    "`webhook-signature`), so the receiver can switch at any moment within it. "
)
_SHOWN_ONCE = (
    "The answer carries the signing secret (`whsec_…`), shown this once; a retry with the "
    "same Idempotency-Key answers it again."
)


class _Named(BaseModel):
    """What an Idempotency-Key stands for on a subscription's own route."""

    subscription_id: str
    event_id: str | None = None


def router(sharing: Sharing) -> APIRouter:
    """Build sharing's router around its parts."""
    api = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
    _subscriptions(api, sharing)
    _resume(api, sharing)
    _secrets(api, sharing)
    _deliveries(api, sharing)
    return api


def _subscriptions(api: APIRouter, sharing: Sharing) -> None:
    @api.post(
        "",
        status_code=201,
        response_model=SubscriptionCreated,
        summary="Subscribe a partner department to warnings, closings and alerts (admin)",
        description=_SHOWN_ONCE,
        responses=problem_responses(401, 403, 409, 422),
    )
    async def create(body: SubscriptionIn, principal: Admin, idem: Idem) -> JSONResponse:
        key = f"{principal.key_id}:{idem.key}" if idem.key is not None else None

        async def call() -> SubscriptionCreated:
            return await operations.create(sharing, body, principal=principal, request_key=key)

        async def replay() -> SubscriptionCreated:
            assert key is not None
            return await operations.created_again(sharing, key)

        return await idem.run(principal, body, call, status_code=201, replay=replay)

    @api.get(
        "",
        response_model=SubscriptionPage,
        summary="List the subscriptions, newest first (admin)",
        responses=problem_responses(400, 401, 403),
    )
    async def list_subscriptions(
        principal: Admin,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> SubscriptionPage:
        rows, next_cursor = await operations.page(sharing, cursor=cursor, limit=limit)
        return SubscriptionPage(items=[out_of(r) for r in rows], next_cursor=next_cursor)

    @api.get(
        "/{subscription_id}",
        response_model=SubscriptionOut,
        summary="One subscription, with its state (active or paused) (admin)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_subscription(
        subscription_id: SubscriptionId, principal: Admin
    ) -> SubscriptionOut:
        return out_of(await operations.get(sharing, subscription_id))

    @api.delete(
        "/{subscription_id}",
        status_code=204,
        summary="Delete a subscription; what it had still to receive is dropped (admin)",
        responses=problem_responses(401, 403, 404),
    )
    async def delete_subscription(subscription_id: SubscriptionId, principal: Admin) -> Response:
        await operations.remove(sharing, subscription_id)
        return Response(status_code=204)


def _resume(api: APIRouter, sharing: Sharing) -> None:
    @api.post(
        "/{subscription_id}/resume",
        response_model=SubscriptionOut,
        summary="Resume a paused subscription: what is pending goes out now (admin)",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def resume(subscription_id: SubscriptionId, principal: Admin, idem: Idem) -> JSONResponse:
        async def call() -> SubscriptionOut:
            return out_of(await operations.resume(sharing, subscription_id))

        return await idem.run(principal, _Named(subscription_id=subscription_id), call)


def _secrets(api: APIRouter, sharing: Sharing) -> None:
    @api.post(
        "/{subscription_id}/rotate-secret",
        response_model=SecretRotated,
        summary="A new signing secret; the previous one still signs for 24 h (admin)",
        description="Every delivery of the overlap carries both signatures (space-separated "
        "in `webhook-signature`), so the receiver can switch at any moment within it. "
        + _SHOWN_ONCE,
        responses=problem_responses(401, 403, 404, 409),
    )
    async def rotate(subscription_id: SubscriptionId, principal: Admin, idem: Idem) -> JSONResponse:
        async def call() -> SecretRotated:
            return await operations.rotate(sharing, subscription_id)

        async def replay() -> SecretRotated:
            return await operations.current_secret(sharing, subscription_id)

        named = _Named(subscription_id=subscription_id)
        return await idem.run(principal, named, call, replay=replay)


def _deliveries(api: APIRouter, sharing: Sharing) -> None:
    @api.get(
        "/{subscription_id}/deliveries",
        response_model=DeliveryPage,
        summary="The events sent to a subscription and how each went, newest first (admin)",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def list_deliveries(
        subscription_id: SubscriptionId,
        principal: Admin,
        status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> DeliveryPage:
        rows, next_cursor = await operations.deliveries(
            sharing, subscription_id, status=status, cursor=cursor, limit=limit
        )
        return DeliveryPage(items=[delivery_out(d) for d in rows], next_cursor=next_cursor)

    @api.post(
        "/{subscription_id}/deliveries/{event_id}/redeliver",
        status_code=202,
        response_model=DeliveryOut,
        summary="Send an event to the subscription again, now (admin)",
        description="Resumes the subscription if it was paused; the event is signed anew "
        "with the same `webhook-id`, so a receiver that had it can drop it.",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def redeliver(
        subscription_id: SubscriptionId, event_id: EventId, principal: Admin, idem: Idem
    ) -> JSONResponse:
        async def call() -> DeliveryOut:
            return delivery_out(await operations.redeliver(sharing, subscription_id, event_id))

        named = _Named(subscription_id=subscription_id, event_id=event_id)
        return await idem.run(principal, named, call, status_code=202)

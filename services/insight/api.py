"""Insight's routes: statistics, review meetings, briefings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from libs.common.auth import Principal, Role, require
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import Problem, problem_responses
from services.insight import briefing_api
from services.insight.domain import BadPeriod, check_range
from services.insight.schemas import ReviewIn, ReviewList, ReviewOut, Statistics
from services.insight.service import SERVICE, Insight

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Jurisdiction = Annotated[str, Query(max_length=64)]


def _day(name: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Problem(422, f"{name} is not a date YYYY-MM-DD: {value!r}") from None


def router(insight: Insight) -> APIRouter:
    """Build insight's router."""
    api = APIRouter()

    @api.get(
        "/v1/statistics",
        tags=["statistics"],
        response_model=Statistics,
        summary="Statistics of a jurisdiction over a range of days (both included)",
        responses=problem_responses(401, 403, 422),
    )
    async def statistics(
        principal: Reader,
        jurisdiction: Jurisdiction,
        from_: Annotated[str, Query(alias="from", max_length=10)],
        to: Annotated[str, Query(max_length=10)],
    ) -> JSONResponse:
        start, end = _day("from", from_), _day("to", to)
        assert start is not None and end is not None
        try:
            check_range(start, end)
        except BadPeriod as error:
            raise Problem(422, str(error)) from None
        insight.readable(principal, jurisdiction)
        return JSONResponse(await insight.statistics(jurisdiction, start, end))

    _reviews(api, insight)
    briefing_api.routes(api, insight)
    return api


def _reviews(api: APIRouter, insight: Insight) -> None:
    @api.post(
        "/v1/reviews",
        tags=["reviews"],
        status_code=201,
        response_model=ReviewOut,
        summary="Record a review meeting (研判会商, 预警分析会)",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def record(
        body: ReviewIn,
        principal: Reader,
        idem: Annotated[Idempotent, idempotency(SERVICE)],
    ) -> JSONResponse:
        async def call() -> ReviewOut:
            return await insight.record_review(body, principal=principal)

        return await idem.run(principal, body, call, status_code=201)

    @api.get(
        "/v1/reviews",
        tags=["reviews"],
        response_model=ReviewList,
        summary="List a jurisdiction's review meetings, newest first",
        responses=problem_responses(401, 403, 422),
    )
    async def list_reviews(
        principal: Reader,
        jurisdiction: Jurisdiction,
        from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        to: Annotated[str | None, Query(max_length=10)] = None,
    ) -> ReviewList:
        insight.readable(principal, jurisdiction)
        items = await insight.reviews(jurisdiction, _day("from", from_), _day("to", to))
        return ReviewList(items=items)

    @api.get(
        "/v1/reviews/{review_id}",
        tags=["reviews"],
        response_model=ReviewOut,
        summary="One review meeting",
        responses=problem_responses(401, 403, 404),
    )
    async def one_review(
        principal: Reader, review_id: Annotated[str, Path(max_length=64)]
    ) -> ReviewOut:
        return await insight.review(review_id, principal=principal)

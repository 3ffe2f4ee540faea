"""Grading's routes: incidents, their timelines, and the leading group's assessment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from libs.common.auth import Principal, Role, require
from libs.common.problems import problem_responses
from services.grading.schemas import AssessmentIn, IncidentDetail, IncidentOut, IncidentPage
from services.grading.service import Grading

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Assessor = Annotated[Principal, require(Role.RESPONDER)]
IncidentId = Annotated[str, Path(max_length=64)]


def router(grading: Grading) -> APIRouter:
    """Build grading's router around its service object."""
    api = APIRouter(prefix="/v1", tags=["incidents"])

    @api.get(
        "/incidents",
        response_model=IncidentPage,
        summary="List incidents, newest first",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_incidents(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        level: Annotated[str | None, Query(max_length=32, examples=["red", "level2"])] = None,
        status: Annotated[Literal["open", "closed"] | None, Query()] = None,
        region: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[Literal["single", "cluster"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> IncidentPage:
        items, next_cursor = await grading.page(
            principal=principal,
            limit=limit,
            cursor=cursor,
            jurisdiction=jurisdiction,
            level=level,
            status=status,
            region=region,
            kind=kind,
        )
        return IncidentPage(items=items, next_cursor=next_cursor)

    @api.get(
        "/incidents/{incident_id}",
        response_model=IncidentDetail,
        summary="Read an incident with its timeline",
        responses=problem_responses(401, 403, 404),
    )
    async def get_incident(incident_id: IncidentId, principal: Reader) -> IncidentDetail:
        return await grading.get(incident_id, principal=principal)

    @api.post(
        "/incidents/{incident_id}/assessment",
        response_model=IncidentOut,
        summary="Assess an incident's level (领导小组评估)",
        description="The leading group (a responder of one of the policy's assessor bodies) or "
        "an admin confirms the level, or sets another one (or none) with a reason. A manual "
        "warning for an incident below every level is a `set_level`. Every assessment is in "
        "the incident's timeline.",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def assess(
        incident_id: IncidentId, body: AssessmentIn, principal: Assessor
    ) -> IncidentOut:
        incident = await grading.assess(incident_id, body, principal=principal)
        async with grading.sessionmaker() as session:
            return await grading.to_out(session, incident)

    return api

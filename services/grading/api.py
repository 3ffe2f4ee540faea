"""Grading's routes: incidents, their timelines, and the leading group's assessment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from libs.common.auth import Principal, Role, require
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import problem_responses
from libs.common.queries import known_places, one_of
from services.grading.schemas import (
    AssessmentIn,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    OpenWarnings,
)
from services.grading.service import Grading
from services.grading.words import Category, IncidentKind, IncidentStatus

Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Assessor = Annotated[Principal, require(Role.RESPONDER)]
IncidentId = Annotated[str, Path(max_length=64)]

_LIST = (
    "Filters: `level` (a level of the jurisdiction's policy), `status`, `kind`, "
    "`category`, and `region` (a region of the jurisdiction: incidents that reach it). An "
    "unknown value is a 422 naming the query field. A township's responder reads its "
    "region's incidents and those its body was sent; an external body, what it was sent."
)
_OPEN = (
    "What a dashboard shows of the open incidents the caller reads (as the list would give "
    "them): how many have each level of the jurisdiction's policy, and each region's most "
    "severe one. An addition to the contract: a dashboard need not read every open incident."
)
_ASSESS = (
    "The leading group (a responder of one of the policy's assessor bodies, "
    "not an external one) or an admin confirms the level, or sets another one (or none) "
    "with a reason. A manual warning for an incident below every level is a `set_level`. "
    "The level then stands until a report brings a larger figure or a new flag. Every "
    "assessment is in the incident's timeline. A retry with the same `Idempotency-Key` "
    "gets the first answer; the same key with another body is 409."
)


def router(grading: Grading) -> APIRouter:
    """Build grading's router around its service object."""
    api = APIRouter(prefix="/v1", tags=["incidents"])

    @api.get(
        "/incidents",
        response_model=IncidentPage,
        summary="List incidents, newest first",
        description=_LIST,
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_incidents(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        level: Annotated[str | None, Query(max_length=32, examples=["red", "level2"])] = None,
        status: Annotated[IncidentStatus | None, Query()] = None,
        region: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[IncidentKind | None, Query()] = None,
        category: Annotated[Category | None, Query()] = None,
        provisional: Annotated[
            bool | None,
            Query(description="only levels awaiting assessment (or only the others)"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> IncidentPage:
        filters = _checked(
            grading,
            principal,
            {"jurisdiction": jurisdiction, "level": level, "region": region},
            {"status": status, "kind": kind, "category": category},
        )
        items, after = await grading.page(
            principal=principal,
            limit=limit,
            cursor=cursor,
            filters=filters,
            provisional=provisional,
        )
        return IncidentPage(items=items, next_cursor=after)

    _open_warnings_route(api, grading)  # before /incidents/{incident_id}, which would take it

    @api.get(
        "/incidents/{incident_id}",
        response_model=IncidentDetail,
        summary="Read an incident with its timeline",
        responses=problem_responses(401, 403, 404),
    )
    async def get_incident(incident_id: IncidentId, principal: Reader) -> IncidentDetail:
        return await grading.get(incident_id, principal=principal)

    _assessment_route(api, grading)
    return api


def _open_warnings_route(api: APIRouter, grading: Grading) -> None:
    @api.get(
        "/incidents/open-warnings",
        response_model=OpenWarnings,
        summary="Count a jurisdiction's open warnings per level and region",
        description=_OPEN,
        responses=problem_responses(401, 403, 422),
    )
    async def open_warnings(
        principal: Reader, jurisdiction: Annotated[str, Query(max_length=64)]
    ) -> OpenWarnings:
        return await grading.open_warnings(principal=principal, jurisdiction=jurisdiction)


def _assessment_route(api: APIRouter, grading: Grading) -> None:
    @api.post(
        "/incidents/{incident_id}/assessment",
        response_model=IncidentOut,
        summary="Assess an incident's level (领导小组评估)",
        description=_ASSESS,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def assess(
        incident_id: IncidentId,
        body: AssessmentIn,
        principal: Assessor,
        idem: Annotated[Idempotent, idempotency("grading")],
    ) -> JSONResponse:
        async def call() -> IncidentOut:
            return await grading.assess(incident_id, body, principal=principal)

        return await idem.run(principal, _Assessed(incident_id=incident_id, body=body), call)


class _Assessed(BaseModel):
    """What an Idempotency-Key of an assessment stands for: the incident and the body."""

    incident_id: str
    body: AssessmentIn


def _checked(
    grading: Grading,
    principal: Principal,
    named: dict[str, str | None],
    typed: dict[str, str | None],
) -> dict[str, str | None]:
    """The list's filters, where the names that depend on the jurisdiction are checked."""
    known = named["jurisdiction"] or principal.jurisdiction
    known_places(grading.registry, jurisdiction=named["jurisdiction"], region=None)
    one_of("level", named["level"], _levels(grading, known))
    one_of("region", named["region"], _regions(grading, known))
    return named | typed


def _levels(grading: Grading, jurisdiction: str | None) -> list[str]:
    policies = [p for j, p in grading.policies.items() if jurisdiction in (None, j)]
    return sorted({lvl.id for p in policies for lvl in p.levels})


def _regions(grading: Grading, jurisdiction: str | None) -> list[str]:
    found = [j for j in grading.registry if jurisdiction in (None, j.id)]
    return sorted({r for j in found for r in j.region_ids})

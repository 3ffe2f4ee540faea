"""Monitoring's routes: the register, the monthly figures (JSON, CSV or .xlsx), the alerts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from libs.common.auth import Principal, Role, require
from libs.common.enterprise import is_valid_credit_code
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import TYPE_BASE, Problem, problem_responses
from libs.common.queries import known_places, one_of
from services.monitoring import uploads
from services.monitoring.schemas import (
    Accepted,
    AlertPage,
    EnterpriseDetail,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePage,
)
from services.monitoring.service import SERVICE, Monitoring

Keeper = Annotated[Principal, require(Role.ANALYST)]
Reader = Annotated[Principal, require(Role.ANALYST, Role.RESPONDER)]
Sender = Annotated[Principal, require(Role.REPORTER)]
CreditCode = Annotated[str, Path(min_length=18, max_length=18, examples=["91220101MA0XXXXXXX"])]

_UPLOAD = (
    'A department\'s monthly figures: JSON `{"observations": [...]}`, `text/csv` (UTF-8 with '
    "or without BOM, or GBK; commas, semicolons or tabs; the header names the columns, in any "
    "order; the Chinese headings 统一社会信用代码, 月份, 用工人数, 应发工资, 实发工资, "
    "社保欠缴月数, 裁员人数, 劳动争议件数 are accepted too), or an Excel workbook (`.xlsx`, "
    "its first sheet). At most 10,000 rows (more → 413) and 10 MB. Any bad row → 422 naming "
    "each row and field, and nothing of the upload is stored. The same enterprise and month "
    "from the same key replaces the earlier values (revisions kept)."
)
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": uploads.ObservationsIn.model_json_schema()},
            "text/csv": {"schema": {"type": "string"}},
            uploads.XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _code(code: str) -> str:
    code = code.upper()
    if not is_valid_credit_code(code):
        raise Problem(
            422,
            "credit_code: not a valid unified social credit code",
            title="Validation failed",
            errors=[
                {
                    "loc": ["path", "credit_code"],
                    "msg": "not a valid credit code",
                    "type": "value_error",
                }
            ],
        )
    return code


def router(monitoring: Monitoring, *, now: Callable[[], Any]) -> APIRouter:
    """Build monitoring's router around its service object."""
    api = APIRouter(prefix="/v1/monitoring", tags=["monitoring"])
    _register_routes(api, monitoring, now)
    _reading_routes(api, monitoring)

    @api.post(
        "/observations",
        status_code=202,
        response_model=Accepted,
        summary="Send monthly figures of monitored enterprises (定点监测数据)",
        description=_UPLOAD,
        openapi_extra=_UPLOAD_BODY,
        responses=problem_responses(400, 401, 403, 409, 413, 415, 422),
    )
    async def observe(
        request: Request,
        principal: Sender,
        idem: Annotated[Idempotent, idempotency(SERVICE)],
    ) -> JSONResponse:
        data = await request.body()
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
        raw = _rows(kind.lower(), data, request.headers.get("content-type", ""))

        async def call() -> Accepted:
            return await monitoring.upload(raw, principal=principal, now=now())

        fingerprint = _Upload(kind=kind, sha256=hashlib.sha256(data).hexdigest())
        return await idem.run(principal, fingerprint, call, status_code=202)

    return api


class _Upload(BaseModel):
    """What an Idempotency-Key of an upload stands for: the bytes sent."""

    kind: str
    sha256: str


def _rows(kind: str, data: bytes, header: str) -> list[tuple[tuple[Any, ...], int, dict[str, Any]]]:
    if kind in ("text/csv", "application/csv", "text/plain"):
        return uploads.from_csv(data)
    if kind == uploads.XLSX:
        return uploads.from_xlsx(data)
    if kind in ("application/json", ""):
        try:
            body = uploads.ObservationsIn.model_validate(orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            raise Problem(400, f"malformed JSON: {exc}") from exc
        except ValidationError as exc:
            if any(e["type"] == "too_long" for e in exc.errors()):
                raise uploads.too_many(uploads.MAX_ROWS + 1) from exc
            raise Problem(
                422,
                'the body must be {"observations": [...]}',
                title="Validation failed",
                type_=TYPE_BASE + "validation-error",
                errors=[
                    {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors(include_url=False)
                ],
            ) from exc
        return uploads.from_json(body)
    raise Problem(415, f"send application/json, text/csv or {uploads.XLSX}, not {header!r}")


def _register_routes(api: APIRouter, monitoring: Monitoring, now: Callable[[], Any]) -> None:
    @api.put(
        "/enterprises/{credit_code}",
        response_model=EnterpriseOut,
        summary="Put an enterprise under monitoring, or change its entry",
        responses={
            201: {"description": "newly monitored", "model": EnterpriseOut},
            **problem_responses(401, 403, 422),
        },
    )
    async def put_enterprise(
        credit_code: CreditCode, body: EnterpriseIn, principal: Keeper
    ) -> JSONResponse:
        created, out = await monitoring.put_enterprise(
            _code(credit_code), body, principal=principal, now=now()
        )
        return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)

    @api.delete(
        "/enterprises/{credit_code}",
        status_code=204,
        summary="End an enterprise's monitoring (its entry and history are kept)",
        responses=problem_responses(401, 403, 404),
    )
    async def end_enterprise(credit_code: CreditCode, principal: Keeper) -> Response:
        await monitoring.end_enterprise(_code(credit_code), principal=principal, now=now())
        return Response(status_code=204)


def _reading_routes(api: APIRouter, monitoring: Monitoring) -> None:
    @api.get(
        "/enterprises",
        response_model=EnterprisePage,
        summary="List monitored enterprises",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_enterprises(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        region: Annotated[str | None, Query(max_length=64)] = None,
        ended: Annotated[bool, Query(description="include those no longer monitored")] = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> EnterprisePage:
        known_places(monitoring.registry, jurisdiction=jurisdiction, region=region)
        items, after = await monitoring.page_enterprises(
            principal=principal,
            jurisdiction=jurisdiction,
            region=region,
            ended=ended,
            cursor=cursor,
            limit=limit,
        )
        return EnterprisePage(items=items, next_cursor=after)

    @api.get(
        "/enterprises/{credit_code}",
        response_model=EnterpriseDetail,
        summary="Read a monitored enterprise with its recent figures and alerts",
        responses=problem_responses(401, 403, 404, 422),
    )
    async def get_enterprise(credit_code: CreditCode, principal: Reader) -> EnterpriseDetail:
        return await monitoring.enterprise(_code(credit_code), principal=principal)

    _alerts_route(api, monitoring)


def _alerts_route(api: APIRouter, monitoring: Monitoring) -> None:
    @api.get(
        "/alerts",
        response_model=AlertPage,
        summary="List alerts, newest first",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_alerts(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        credit_code: Annotated[str | None, Query(max_length=18)] = None,
        kind: Annotated[str | None, Query(max_length=16)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> AlertPage:
        known_places(monitoring.registry, jurisdiction=jurisdiction, region=None)
        one_of("kind", kind, ("threshold", "anomaly", "missing"))
        items, after = await monitoring.page_alerts(
            principal=principal,
            filters={
                "jurisdiction": jurisdiction,
                "kind": kind,
                "credit_code": None if credit_code is None else credit_code.upper(),
            },
            cursor=cursor,
            limit=limit,
        )
        return AlertPage(items=items, next_cursor=after)

"""Intake's routes: reports from partner agencies, hotline work orders, jurisdictions."""

from __future__ import annotations

import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from libs.common.access import reads_jurisdiction
from libs.common.auth import CurrentPrincipal, Principal, Role, principal_of, require
from libs.common.http import json_response, parse_json, require_json
from libs.common.idempotency import Idempotent, idempotency
from libs.common.problems import Problem, problem_responses
from libs.common.queries import known_places
from libs.common.routes import ServedDirectly, header, served_by
from services.intake import render
from services.intake.categories import Category
from services.intake.handlers import Intake
from services.intake.schemas import (
    BodyOut,
    HotlineOrder,
    JurisdictionList,
    JurisdictionOut,
    LevelOut,
    RegionOut,
    ReportIn,
    ReportOut,
    ReportPage,
    RevealedReport,
    RevealIn,
    Source,
    WebhookAccepted,
)

Reporter = Annotated[Principal, require(Role.REPORTER)]
Reader = Annotated[Principal, require(Role.REPORTER, Role.ANALYST, Role.RESPONDER)]
# Who may ask; the report's routing decides (services.intake.domain.Report.reveal).
Revealer = Annotated[Principal, require(Role.RESPONDER)]
_MAX_WEBHOOK_ID = 255  # intake_webhook_deliveries.webhook_id
_MAX_IDEMPOTENCY_KEY = 255  # intake_idempotency_keys.key


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """Document a JSON request body that the route reads itself, with `parse_json`."""
    # Inline: FastAPI puts in components only the models it parses.
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(model)}},
        }
    }


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` inlined, so that it needs no components."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


def router(intake: Intake, *, webhook_secret: str | None, now: Any) -> APIRouter:
    """Build intake's router around its operations."""
    api = APIRouter(prefix="/v1")
    _submit_route(api, intake, now)
    _read_routes(api, intake)
    _reveal_route(api, intake, now)
    _hotline_route(api, intake, Webhook(webhook_secret) if webhook_secret else None, now)
    _jurisdictions_route(api, intake)
    return api


def _submit_route(api: APIRouter, intake: Intake, now: Any) -> None:
    # The hottest route: served without dependency injection (libs.common.routes), the body
    # validated from its bytes in one pass, the answer serialised once (parse_json,
    # json_response).
    async def serve(request: Request) -> Response:
        principal = await principal_of(request, Role.REPORTER)
        idempotency_key = header(request, "idempotency-key", max_length=_MAX_IDEMPOTENCY_KEY)
        require_json(request)
        report = parse_json(ReportIn, await request.body())
        accepted = await intake.submit(
            report, principal=principal, idempotency_key=idempotency_key, now=now()
        )
        return json_response(
            render.report_out(accepted.report, intake.cipher),
            status_code=status.HTTP_202_ACCEPTED if accepted.created else status.HTTP_200_OK,
            headers={"Location": f"/v1/reports/{accepted.report['id']}"},
        )

    # Its parameters document the route (OpenAPI); `serve` reads the same from the request.
    @served_by(serve)
    async def submit_report(
        request: Request,
        principal: Reporter,
        idempotency_key: Annotated[
            str | None,
            Header(
                max_length=_MAX_IDEMPOTENCY_KEY,
                description="Makes a retry safe: the same key returns the first "
                "report; the same key with another body is 409",
            ),
        ] = None,
    ) -> Response:
        return await serve(request)

    api.add_api_route(
        "/reports",
        submit_report,
        methods=["POST"],
        route_class_override=ServedDirectly,
        tags=["reports"],
        status_code=status.HTTP_202_ACCEPTED,
        summary="Submit a report of labor-dispute risk",
        response_model=ReportOut,
        responses={
            200: {
                "model": ReportOut,
                "description": "Already accepted: the first report, nothing new created",
            },
            **problem_responses(400, 401, 403, 409, 413, 415, 422),
        },
        openapi_extra=_json_body(ReportIn),
    )


def _read_routes(api: APIRouter, intake: Intake) -> None:
    @api.get(
        "/reports/{report_id}",
        tags=["reports"],
        response_model=ReportOut,
        summary="Read a report (personal data masked)",
        responses=problem_responses(401, 403, 404),
    )
    async def get_report(
        report_id: Annotated[str, Path(max_length=64)], principal: Reader
    ) -> ReportOut:
        return render.report_out(await intake.get(report_id, principal=principal), intake.cipher)

    @api.get(
        "/reports",
        tags=["reports"],
        response_model=ReportPage,
        summary="List reports, newest first",
        responses=problem_responses(400, 401, 403, 422),
    )
    async def list_reports(
        principal: Reader,
        jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
        region: Annotated[str | None, Query(max_length=64)] = None,
        source: Annotated[Source | None, Query()] = None,
        category: Annotated[Category | None, Query()] = None,
        incident_id: Annotated[str | None, Query(max_length=64)] = None,
        received_from: Annotated[
            dt.datetime | None, Query(description="inclusive, with a time zone")
        ] = None,
        received_to: Annotated[
            dt.datetime | None, Query(description="exclusive, with a time zone")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> ReportPage:
        _aware(received_from=received_from, received_to=received_to)
        known_places(intake.registry, jurisdiction=jurisdiction, region=region)
        rows, next_cursor = await intake.page(
            principal=principal,
            limit=limit,
            cursor=cursor,
            filters={
                "jurisdiction": jurisdiction,
                "region": region,
                "source": source,
                "category": category,
                "incident_id": incident_id,
            },
            received_from=received_from,
            received_to=received_to,
        )
        items = [render.report_out(r, intake.cipher) for r in rows]
        return ReportPage(items=items, next_cursor=next_cursor)


def _aware(**times: dt.datetime | None) -> None:
    """422 for a query time without a time zone."""
    for name, value in times.items():
        if value is not None and value.tzinfo is None:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name),
                        "type": "timezone_aware",
                        "msg": "must include a time zone",
                    }
                ]
            )


def _reveal_route(api: APIRouter, intake: Intake, now: Any) -> None:
    @api.post(
        "/reports/{report_id}/reveal",
        tags=["reports"],
        response_model=RevealedReport,
        summary="Read a report's personal data in clear, to call the caller back (12345 回访)",
        description="For a responder of the body the report's incident is routed to, or an "
        "admin; `reason` says why. Every reveal is recorded (who, why, when) in the "
        "incident's timeline. 409 while the report's incident is routed to no body yet.",
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    async def reveal_report(
        report_id: Annotated[str, Path(max_length=64)],
        body: RevealIn,
        principal: Revealer,
        idem: Annotated[Idempotent, idempotency("intake")],
    ) -> JSONResponse:
        async def reveal(*, record: bool = True) -> RevealedReport:
            return await intake.reveal(
                report_id, principal=principal, reason=body.reason, now=now(), record=record
            )

        # The answer holds personal data in clear: a retry is answered anew, not from storage,
        # and is not recorded twice.
        key = _Revealing(report_id=report_id, body=body)
        return await idem.run(principal, key, reveal, replay=lambda: reveal(record=False))


class _Revealing(BaseModel):
    """What an Idempotency-Key of a reveal stands for: the report and the body."""

    report_id: str
    body: RevealIn


def _hotline_route(api: APIRouter, intake: Intake, verifier: Webhook | None, now: Any) -> None:
    @api.post(
        "/webhooks/hotline",
        tags=["hotline"],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=WebhookAccepted,
        summary="Receive a 12345 / 12333 hotline work order (Standard Webhooks)",
        description="Signed per Standard Webhooks with LABORWATCH_HOTLINE_WEBHOOK_SECRET: "
        "headers `webhook-id`, `webhook-timestamp`, `webhook-signature`. A redelivery with "
        "the same `webhook-id` or `order_no` answers 200 and creates nothing.",
        responses={
            200: {"model": WebhookAccepted, "description": "Already accepted"},
            **problem_responses(400, 401, 413, 422, 503),
        },
        openapi_extra=_json_body(HotlineOrder),
    )
    async def hotline_webhook(request: Request, response: Response) -> WebhookAccepted:
        if verifier is None:
            raise Problem(
                503, "the hotline webhook is not configured (LABORWATCH_HOTLINE_WEBHOOK_SECRET)"
            )
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
        try:
            verifier.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise Problem(
                401,
                f"webhook signature rejected: {exc or 'invalid'}",
                headers={"WWW-Authenticate": "Standard-Webhooks"},
            ) from exc
        if len(headers["webhook-id"]) > _MAX_WEBHOOK_ID:  # the column holds 255 characters
            raise Problem(400, f"webhook-id is longer than {_MAX_WEBHOOK_ID} characters")
        order = parse_json(HotlineOrder, body)
        accepted = await intake.receive_hotline(order, webhook_id=headers["webhook-id"], now=now())
        if not accepted.created:
            response.status_code = status.HTTP_200_OK
        return WebhookAccepted(report_id=accepted.report["id"])


def _jurisdictions_route(api: APIRouter, intake: Intake) -> None:
    @api.get(
        "/jurisdictions",
        tags=["jurisdictions"],
        response_model=JurisdictionList,
        summary="List jurisdictions with their regions, bodies and warning levels",
        responses=problem_responses(401),
    )
    async def list_jurisdictions(principal: CurrentPrincipal) -> JurisdictionList:
        items = [
            JurisdictionOut(
                id=j.id,
                name=j.name,
                policy=j.policy.id,
                levels=[
                    LevelOut(id=lvl.id, label=lvl.label, rank=lvl.rank)
                    for lvl in sorted(j.policy.levels, key=lambda lvl: lvl.rank)
                ],
                regions=[RegionOut(id=r.id, name=r.name) for r in j.regions],
                bodies=[BodyOut(**b.model_dump()) for b in j.bodies],
            )
            for j in intake.registry
            if reads_jurisdiction(principal, j.id)
        ]
        return JurisdictionList(items=items)

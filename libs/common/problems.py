"""RFC 9457 problem details for every error a service answers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.common.db import is_database_outage

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://laborwatch.org/problems/"


class Problem(Exception):
    """An error answered as problem+json; raise it from any route or service function."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_ or _default_type(status)
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.extra = extra


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, as documented in OpenAPI."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def _default_type(status: int) -> str:
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    return TYPE_BASE + slug


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": type_ or _default_type(status),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document error statuses of a route as problem+json in OpenAPI."""
    return {
        s: {
            "model": ProblemDetail,
            "content": {PROBLEM_JSON: {}},
            "description": HTTPStatus(s).phrase,
        }
        for s in statuses
    }


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API sends: every 4xx/5xx as problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"$ref": "#/components/schemas/ProblemDetail"}
        schema.setdefault("components", {}).setdefault("schemas", {})["ProblemDetail"] = (
            ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    if status.isdigit() and int(status) >= 400:
                        response["content"] = {PROBLEM_JSON: {"schema": problem}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of the app, including the framework's own, with problem+json."""
    app.add_exception_handler(Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(sa_exc.DBAPIError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(OSError, _network)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(
        request,
        exc.status,
        exc.detail,
        type_=exc.type,
        title=exc.title,
        headers=exc.headers,
        **exc.extra,
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(
            request,
            400,
            "the request body is not valid JSON",
            type_=TYPE_BASE + "malformed-json",
            errors=errors,
        )
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    detail = f"{where}: {first['msg']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(
        request,
        422,
        detail,
        type_=TYPE_BASE + "validation-error",
        title="Validation failed",
        errors=errors,
    )


async def _database(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
    if is_database_outage(exc):
        log.warning("database unavailable", extra={"path": request.url.path})
        return problem_response(
            request,
            503,
            "the database is unavailable; nothing was stored, retry shortly",
            type_=TYPE_BASE + "unavailable",
            headers={"Retry-After": "5"},
        )
    return await _unexpected(request, exc)


async def _network(request: Request, exc: OSError) -> JSONResponse:
    log.warning("a dependency is unreachable", exc_info=True)
    return problem_response(
        request,
        503,
        "a dependency is unreachable; nothing was stored, retry shortly",
        type_=TYPE_BASE + "unavailable",
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(request, 500, "an unexpected error occurred; it has been logged")

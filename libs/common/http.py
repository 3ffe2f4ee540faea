"""HTTP pieces every service shares: middleware for request ids, metrics and the body size
limit, and JSON bodies read and written in one pass."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.logs import request_id
from libs.common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from libs.common.problems import PROBLEM_JSON, TYPE_BASE, Problem

log = logging.getLogger(__name__)


class _BodyTooLarge(HTTPException):
    """Raised while the app reads an over-long streamed body; an HTTPException, so that the
    framework lets it through (as 413) rather than calling it a malformed body (400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over the limit of {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuse a body over the limit with 413 before the app parses it."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, paths: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that take larger bodies (a department's monthly file), by exact path.
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, send, limit)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        await send_problem(
            scope,
            send,
            413,
            "content-too-large",
            f"the request body is over the limit of {limit} bytes",
        )


async def send_problem(scope: Scope, send: Send, status: int, slug: str, detail: str) -> None:
    """Answer a problem+json straight over ASGI (from a middleware, outside the app's
    handlers); the connection is closed after it."""
    body = orjson.dumps(
        {
            "type": TYPE_BASE + slug,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Give each request an id (X-Request-ID, kept if the caller sent one), measure it, add the
    security headers, and answer what nothing else caught with a 500 logged under its id."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (_header(scope, b"x-request-id") or uuid.uuid4().hex)[:64]
        token = request_id.set(rid)
        status = 500
        started = False
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = _with_headers(scope, message, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, where the request id is still known (the framework's last handler
            # runs outside this middleware); tracebacks are scrubbed by the log formatter.
            log.exception("unhandled error", extra={"path": scope["path"]})
            if started:
                raise
            await send_problem(
                scope,
                send_with_id,
                500,
                "internal-server-error",
                "an unexpected error occurred; it has been logged",
            )
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - start
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], path).observe(elapsed)
            request_id.reset(token)


# Sent with every response: no sniffing, no framing, no Referer (an acknowledgement link's
# token is in its path).
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
# Paths whose responses may hold personal data: never kept by a browser or a proxy.
_PRIVATE_PATHS = ("/v1/", "/ack/")


def _with_headers(scope: Scope, message: Message, rid: str) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
    names = {name.lower() for name, _ in headers}
    headers += [(n, v) for n, v in _SECURITY_HEADERS if n not in names]
    headers.append((b"x-request-id", rid.encode()))
    if b"cache-control" not in names and scope["path"].startswith(_PRIVATE_PATHS):
        headers.append((b"cache-control", b"no-store"))
    if message["status"] == 500 and b"connection" not in names:
        # Whatever went wrong may have left the connection in doubt: the client starts afresh.
        headers.append((b"connection", b"close"))
    return headers


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: Any = value.decode("latin-1").strip()
            return str(decoded) or None
    return None


# ---------------------------------------------------------------------------- JSON bodies

M = TypeVar("M", bound=BaseModel)


def parse_json(model: type[M], body: bytes) -> M:
    """Validate a JSON body straight from its bytes, in one pass of pydantic's own parser;
    what is wrong is the framework's 422 (or 400 for malformed JSON), located in the body."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from exc


def require_json(request: Request) -> None:
    """Refuse a body that does not say it is JSON: 415, where the framework, parsing the body
    itself, would answer a 422 that does not say why."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(
            415,
            "the request body must be JSON: Content-Type: application/json",
            headers={"Accept-Post": "application/json"},
        )


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Answer with a model serialised once. (Returned as a model, it would be validated
    again against the route's response model before being serialised.)"""
    return Response(
        to_json(model), status_code=status_code, media_type="application/json", headers=headers
    )


# ------------------------------------------------------------------------------ NUL refused

_NUL_IN_JSON = (b"\\u0000", b"\x00")
_NUL_MESSAGE = "must not contain the NUL character (U+0000)"


async def refuse_nul(request: Request) -> None:
    """Refuse U+0000 in any path parameter, query value or body field with a 422 naming it:
    PostgreSQL cannot store it in text (a 500 there), where SQLite would have taken it.

    An app-wide dependency: it runs once the route is known, so it names the parameter.
    """
    errors: list[dict[str, Any]] = [
        _nul_error(("path", name))
        for name, value in request.path_params.items()
        if isinstance(value, str) and "\x00" in value
    ]
    errors += [
        _nul_error(("query", name))
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    if not errors and request.method in ("POST", "PUT", "PATCH"):
        errors = await _nul_in_body(request)
    if errors:
        raise RequestValidationError(errors)


async def _nul_in_body(request: Request) -> list[dict[str, Any]]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return [_nul_error(("body", k)) for k, v in fields if "\x00" in k or "\x00" in v]
    if not any(marker in body for marker in _NUL_IN_JSON):  # the common case: one scan
        return []
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []  # malformed: the route answers 400 as for any other malformed body
    return [_nul_error(("body", *loc)) for loc in _nul_locations(document, ())]


def _nul_locations(value: Any, loc: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    if isinstance(value, str):
        return [loc] if "\x00" in value else []
    if isinstance(value, dict):
        found = [(*loc, k) for k in value if "\x00" in k]
        for key, item in value.items():
            found += _nul_locations(item, (*loc, key))
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _nul_locations(item, (*loc, i))]
    return []


def _nul_error(loc: tuple[str | int, ...]) -> dict[str, Any]:
    return {"loc": loc, "msg": _NUL_MESSAGE, "type": "string_nul"}

"""A route served without FastAPI's dependency injection, for the hottest of them.

FastAPI resolves a route's dependencies anew for each request, and each costs: on the submission
of a report, the app's `refuse_nul`, the principal (with its bearer scheme) and one header took
as long as the rest of the framework's work together (about 130 µs a request of 240 measured
alone, FastAPI 0.165). A route of this class is documented by its endpoint's parameters, as any
other (OpenAPI), but served by the function given with `served_by`, which reads what it needs
from the request itself. It answers as the endpoint would: the endpoint, called by FastAPI,
must do no more than call it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from libs.common.http import refuse_nul

Serve = Callable[[Request], Awaitable[Response]]
E = TypeVar("E", bound=Callable[..., Any])


def served_by(serve: Serve) -> Callable[[E], E]:
    """Mark an endpoint as served by `serve` when its route is a `ServedDirectly`."""

    def mark(endpoint: E) -> E:
        endpoint.served_by = serve  # type: ignore[attr-defined]
        return endpoint

    return mark


class ServedDirectly(APIRoute):
    """Serve the endpoint's `served_by` with the request alone, after the app's own
    dependency (`refuse_nul`, which every route runs)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        serve: Serve | None = getattr(self.endpoint, "served_by", None)
        if serve is None:
            return super().get_route_handler()

        async def handle(request: Request) -> Response:
            await refuse_nul(request)
            return await serve(request)

        return handle


def header(request: Request, name: str, *, max_length: int) -> str | None:
    """An optional header, refused as FastAPI's `Header(max_length=…)` refuses it (422)."""
    value = request.headers.get(name)
    if value is not None and len(value) > max_length:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {max_length} characters",
                    "input": value,
                    "ctx": {"max_length": max_length},
                }
            ]
        )
    return value

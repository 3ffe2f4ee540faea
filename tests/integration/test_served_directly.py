"""The submission of a report is served without dependency injection (libs.common.routes):
it still answers, refuses and is documented as its parameters say."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from libs.common.routes import ServedDirectly, served_by
from tests.conftest import Running, assert_problem
from tests.integration.test_reports_api import a_report


async def test_an_idempotency_key_over_255_characters_is_422_naming_the_header(
    system: Running,
) -> None:
    headers = system.auth("reporter")
    r = await system.client.post(
        "/v1/reports", json=a_report(), headers=headers | {"Idempotency-Key": "k" * 256}
    )
    problem = assert_problem(r, 422)
    assert ["header", "idempotency-key"] in [e["loc"] for e in problem["errors"]], problem
    ok = await system.client.post(
        "/v1/reports", json=a_report(), headers=headers | {"Idempotency-Key": "k" * 255}
    )
    assert ok.status_code == 202, ok.text


async def test_who_may_submit_is_checked_as_before(system: Running) -> None:
    anonymous = await system.client.post("/v1/reports", json=a_report())
    assert_problem(anonymous, 401)
    assert anonymous.headers["www-authenticate"] == "Bearer"
    analyst = await system.client.post(
        "/v1/reports", json=a_report(), headers=system.auth("analyst")
    )
    assert "role analyst may not do this" in assert_problem(analyst, 403)["detail"]
    # The app's own check runs first, as on every route: NUL is named before the key is asked.
    nul = await system.client.post("/v1/reports", json=a_report(summary="拖欠\u0000工资"))
    assert ["body", "summary"] in [e["loc"] for e in assert_problem(nul, 422)["errors"]]


async def test_the_route_is_documented_by_its_parameters(system: Running) -> None:
    operation = (await system.client.get("/openapi.json")).json()["paths"]["/v1/reports"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    key = next(p for p in operation["parameters"] if p["name"] == "idempotency-key")
    assert key["in"] == "header" and key["schema"]["anyOf"][0]["maxLength"] == 255
    assert set(operation["responses"]) >= {"200", "202", "401", "403", "409", "422"}


RESOLVED: list[str] = []


def a_dependency() -> str:
    RESOLVED.append("resolved")
    return "x"


async def echo(request: Request) -> Response:
    return Response(request.headers.get("x-echo", ""), media_type="text/plain")


@served_by(echo)
async def an_endpoint(request: Request, _: Annotated[str, Depends(a_dependency)]) -> Response:
    return await echo(request)


async def test_the_endpoints_dependencies_are_not_resolved_when_served_directly() -> None:
    RESOLVED.clear()
    router = APIRouter()
    router.add_api_route(
        "/direct", an_endpoint, methods=["POST"], route_class_override=ServedDirectly
    )
    router.add_api_route("/injected", an_endpoint, methods=["POST"])
    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        direct = await c.post("/direct", headers={"x-echo": "served"})
        assert (direct.status_code, direct.text, RESOLVED) == (200, "served", [])
        injected = await c.post("/injected", headers={"x-echo": "served"})
        assert (injected.text, RESOLVED) == ("served", ["resolved"])

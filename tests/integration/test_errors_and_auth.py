"""Errors as RFC 9457 problems, authentication, operations endpoints, OpenAPI and the
jurisdictions listing (CONTRACT.md, "Auth and errors", "Jurisdictions", "Operations")."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine
from standardwebhooks.webhooks import Webhook

from libs.common.auth import KeyCache, Role, create_key, revoke_key
from tests.conftest import (
    WEBHOOK_SECRET,
    Running,
    assert_problem,
    free_port,
)

XUANEN_REGIONS = {
    "zhushan",
    "jiaoyuan",
    "shadaogou",
    "lijiahe",
    "gaoluo",
    "wanzhai",
    "changtanhe",
    "xiaoguan",
    "chunmuying",
}
XUANEN_BODIES = (
    {f"xuanen.{r}.tripartite" for r in XUANEN_REGIONS}
    # 乡镇党委政府 and 县委县政府, to whom warnings are copied (CONTRACT.md v1.1, seed 000 三(三))
    | {f"xuanen.{r}.government" for r in XUANEN_REGIONS}
    | {"xuanen.county.government"}
) | {
    "xuanen.county.tripartite",
    "xuanen.bureau.leading_group",
    "xuanen.prefecture.tripartite",
}
CHANGCHUN_REGIONS = {
    "nanguan",
    "kuancheng",
    "chaoyang",
    "erdao",
    "lvyuan",
    "shuangyang",
    "jiutai",
    "yushu",
    "dehui",
    "gongzhuling",
    "nongan",
}
CHANGCHUN_BODIES = {
    "changchun.leading_group",
    "changchun.leading_group_office",
    "changchun.director",
    "changchun.city_government",
    # 成员单位 (seed 002 三)
    *(
        f"changchun.member.{unit}"
        for unit in (
            "policy_research",
            "regulations",
            "hr_market",
            "labor_relations",
            "mediation_arbitration",
            "pension_insurance",
            "work_injury_insurance",
            "petitions",
            "labor_inspection",
            "statistics_center",
            "arbitration_court",
        )
    ),
}


def a_report() -> dict[str, Any]:
    return {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(),
        "enterprise": {"name": "长春某公司"},
        "category": "wage_arrears",
        "workers_involved": 12,
    }


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/nothing", "/v1/reports/a/b"])
async def test_an_unknown_route_is_a_404_problem(lw: Running, path: str) -> None:
    problem = assert_problem(await lw.client.get(path, headers=lw.auth()), 404)
    assert problem["instance"] == path


async def test_a_wrong_method_is_a_405_problem(lw: Running) -> None:
    r = await lw.client.delete("/v1/reports", headers=lw.auth())
    problem = assert_problem(r, 405)
    assert "DELETE" in problem["detail"]
    assert r.headers["allow"]
    r = await lw.client.put("/v1/jurisdictions", headers=lw.auth())
    assert_problem(r, 405)
    assert "GET" in r.headers["allow"]


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(lw: Running) -> None:
    async def explode() -> None:
        raise RuntimeError("connection string postgres://secret@db")

    lw.app.add_api_route("/test-only/explode", explode)
    transport = httpx.ASGITransport(app=lw.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/test-only/explode")
    problem = assert_problem(r, 500)
    assert "secret" not in r.text
    assert "RuntimeError" not in r.text
    assert problem["instance"] == "/test-only/explode"


async def test_validation_problems_list_the_errors(lw: Running) -> None:
    body = a_report()
    body["workers_involved"] = -1
    del body["category"]
    r = await lw.client.post("/v1/reports", json=body, headers=lw.auth())
    problem = assert_problem(r, 422)
    locs = [e["loc"] for e in problem["errors"]]
    assert ["body", "workers_involved"] in locs
    assert ["body", "category"] in locs
    assert all(isinstance(e["msg"], str) and e["msg"] for e in problem["errors"])


# ------------------------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/reports"),
        ("POST", "/v1/reports"),
        ("GET", f"/v1/reports/{uuid.uuid4()}"),
        ("GET", "/v1/jurisdictions"),
    ],
)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer lw_unknown-key-0123456789", "Bearer ", "Basic dXNlcjpwYXNz", "lw_no_scheme"],
)
async def test_v1_needs_a_known_bearer_key(
    lw: Running, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    kwargs: dict[str, Any] = {"json": a_report()} if method == "POST" else {}
    r = await lw.client.request(method, path, headers=headers, **kwargs)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].lower().startswith("bearer")


async def test_a_revoked_key_is_refused(lw: Running) -> None:
    row, key = await create_key(
        lw.runtime.sessionmaker, lw.runtime.registry, name="short-lived", role=Role.ADMIN
    )
    headers = {"Authorization": f"Bearer {key}"}
    assert (await lw.client.get("/v1/jurisdictions", headers=headers)).status_code == 200
    assert await revoke_key(lw.runtime.sessionmaker, row.id)
    assert_problem(await lw.client.get("/v1/jurisdictions", headers=headers), 401)


async def test_a_live_key_is_trusted_for_the_cache_period_then_checked_again(
    lw: Running,
) -> None:
    now = 1000.0
    cache = KeyCache(5, clock=lambda: now)
    lw.runtime.keys, previous = cache, lw.runtime.keys
    try:
        row, key = await create_key(
            lw.runtime.sessionmaker, lw.runtime.registry, name="cached", role=Role.ADMIN
        )
        headers = {"Authorization": f"Bearer {key}"}
        assert (await lw.client.get("/v1/jurisdictions", headers=headers)).status_code == 200
        assert await revoke_key(lw.runtime.sessionmaker, row.id)
        now += 4.9  # still within the period: this process has not looked again
        assert (await lw.client.get("/v1/jurisdictions", headers=headers)).status_code == 200
        now += 0.1
        assert_problem(await lw.client.get("/v1/jurisdictions", headers=headers), 401)
        now += 10  # a refusal is not cached as a principal: still refused
        assert_problem(await lw.client.get("/v1/jurisdictions", headers=headers), 401)
    finally:
        lw.runtime.keys = previous


@pytest.mark.parametrize("role", ["analyst", "responder"])
async def test_a_role_that_may_not_submit_is_403(lw: Running, role: str) -> None:
    r = await lw.client.post("/v1/reports", json=a_report(), headers=lw.auth(role))
    problem = assert_problem(r, 403)
    assert role in problem["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"])
async def test_operations_endpoints_need_no_key(lw: Running, path: str) -> None:
    r = await lw.client.get(path)
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------------------ operations


async def test_health_and_readiness(lw: Running) -> None:
    health = await lw.client.get("/healthz")
    assert health.json() == {"status": "ok"}
    ready = await lw.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "bus": "ok"}


async def test_readiness_fails_when_the_bus_is_away(
    lw: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> None:
        raise ConnectionError("broker gone")

    monkeypatch.setattr(lw.runtime.bus, "ping", unreachable)
    problem = assert_problem(await lw.client.get("/readyz"), 503)
    assert problem["checks"]["database"] == "ok"
    assert problem["checks"]["bus"].startswith("unavailable")
    assert "bus" in problem["detail"]


async def test_readiness_fails_when_the_database_is_away(
    lw: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    try:
        monkeypatch.setattr(lw.runtime, "engine", nowhere)
        problem = assert_problem(await lw.client.get("/readyz"), 503)
        assert problem["checks"]["database"].startswith("unavailable")
        assert "database" in problem["detail"]
    finally:
        monkeypatch.undo()
        await nowhere.dispose()
    assert (await lw.client.get("/readyz")).status_code == 200


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics_count_requests_and_accepted_reports(lw: Running) -> None:
    key = (("channel", "rest"), ("source", "agency"))
    before = _samples((await lw.client.get("/metrics")).text, "laborwatch_reports_accepted_total")
    accepted = await lw.client.post("/v1/reports", json=a_report(), headers=lw.auth("reporter"))
    assert accepted.status_code == 202, accepted.text
    replay_key = {"Idempotency-Key": f"m-{uuid.uuid4()}"}
    body = a_report()
    for _ in range(2):  # a replay is not a new report
        r = await lw.client.post("/v1/reports", json=body, headers={**lw.auth(), **replay_key})
        assert r.status_code in (200, 202)

    metrics = await lw.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "laborwatch_http_requests_total" in metrics.text
    after = _samples(metrics.text, "laborwatch_reports_accepted_total")
    assert after[key] - before.get(key, 0.0) == 2

    requests = _samples(metrics.text, "laborwatch_http_requests_total")
    posted = [
        value
        for labels, value in requests.items()
        if dict(labels).get("route") == "/v1/reports"
        and dict(labels).get("method") == "POST"
        and dict(labels).get("status") == "202"
    ]
    assert posted
    assert sum(posted) >= 2
    # Routes are labelled by template, never by the raw path (no unbounded label values).
    missing = f"/v1/reports/{uuid.uuid4()}"
    await lw.client.get(missing, headers=lw.auth())
    again = _samples((await lw.client.get("/metrics")).text, "laborwatch_http_requests_total")
    assert not any(dict(labels).get("route") == missing for labels in again)


async def test_request_ids_are_echoed_or_made(lw: Running) -> None:
    given = await lw.client.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
    assert given.headers["x-request-id"] == "trace-abc-123"
    made = await lw.client.get("/healthz")
    first = made.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    second = (await lw.client.get("/healthz")).headers["x-request-id"]
    assert first != second
    # On errors as well.
    denied = await lw.client.get("/v1/reports", headers={"X-Request-ID": "trace-401"})
    assert denied.status_code == 401
    assert denied.headers["x-request-id"] == "trace-401"


# --------------------------------------------------------------------------------- OpenAPI


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_lists_every_intake_route(lw: Running) -> None:
    r = await lw.client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/v1/reports"])
    assert "get" in paths["/v1/reports/{report_id}"]
    assert "post" in paths["/v1/webhooks/hotline"]
    assert "get" in paths["/v1/jurisdictions"]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "get" in paths[path]
    assert "requestBody" in paths["/v1/reports"]["post"]
    assert "requestBody" in paths["/v1/webhooks/hotline"]["post"]
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    # Every reference resolves: a dangling $ref breaks every generated client.
    for ref in set(_refs(spec)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in spec["components"]["schemas"], ref


async def test_the_documented_examples_are_accepted(lw: Running) -> None:
    spec = (await lw.client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/reports"]["post"]["requestBody"]["content"]
    report = body["application/json"]["schema"]["examples"][0]
    r = await lw.client.post("/v1/reports", json=report, headers=lw.auth("reporter"))
    assert r.status_code in (200, 202), r.text

    hook = spec["paths"]["/v1/webhooks/hotline"]["post"]["requestBody"]["content"]
    example = dict(hook["application/json"]["schema"]["examples"][0])
    example["order_no"] = f"DOC-{uuid.uuid4().hex[:8]}"
    body = json.dumps(example, ensure_ascii=False)
    msg_id, now = f"msg_{uuid.uuid4().hex}", dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(WEBHOOK_SECRET).sign(msg_id, now, body),
        "content-type": "application/json",
    }
    hooked = await lw.client.post("/v1/webhooks/hotline", content=body.encode(), headers=headers)
    assert hooked.status_code == 202, hooked.text


async def test_the_docs_page_is_html(lw: Running) -> None:
    r = await lw.client.get("/docs")
    assert r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower()
    assert "/openapi.json" in r.text


# --------------------------------------------------------------------------- jurisdictions


async def test_jurisdictions_are_listed_as_the_contract_says(lw: Running) -> None:
    r = await lw.client.get("/v1/jurisdictions", headers=lw.auth())
    assert r.status_code == 200, r.text
    items = {j["id"]: j for j in r.json()["items"]}
    assert set(items) == {"xuanen", "changchun"}
    xuanen, changchun = items["xuanen"], items["changchun"]

    assert xuanen["name"] == "宣恩县"
    assert xuanen["policy"] == "xuanen-2021"
    assert {lvl["id"] for lvl in xuanen["levels"]} == {"level1", "level2"}
    assert {r["id"] for r in xuanen["regions"]} == XUANEN_REGIONS
    assert {b["id"] for b in xuanen["bodies"]} == XUANEN_BODIES
    names = {r["id"]: r["name"] for r in xuanen["regions"]}
    assert names["zhushan"] == "珠山镇"
    assert names["changtanhe"] == "长潭河侗族乡"

    assert changchun["name"] == "长春市"
    assert changchun["policy"] == "changchun-2020"
    assert {lvl["id"] for lvl in changchun["levels"]} == {"red", "yellow", "blue"}
    assert {r["id"] for r in changchun["regions"]} == CHANGCHUN_REGIONS
    assert {b["id"] for b in changchun["bodies"]} == CHANGCHUN_BODIES
    levels = {lvl["id"]: lvl for lvl in changchun["levels"]}
    assert levels["red"]["rank"] > levels["yellow"]["rank"] > levels["blue"]["rank"]

    bodies = {b["id"]: b for b in changchun["bodies"]}
    assert bodies["changchun.leading_group_office"]["parent"] == "changchun.leading_group"
    assert bodies["changchun.city_government"]["external"] is True
    xbodies = {b["id"]: b for b in xuanen["bodies"]}
    assert xbodies["xuanen.zhushan.tripartite"]["parent"] == "xuanen.county.tripartite"
    assert xbodies["xuanen.zhushan.tripartite"]["region"] == "zhushan"
    assert xbodies["xuanen.prefecture.tripartite"]["external"] is True


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", {"xuanen", "changchun"}),
        ("reporter", {"xuanen", "changchun"}),
        ("analyst", {"changchun"}),
        ("analyst_xuanen", {"xuanen"}),
        ("responder", {"changchun"}),
    ],
)
async def test_each_key_sees_the_jurisdictions_it_may_read(
    lw: Running, role: str, visible: set[str]
) -> None:
    r = await lw.client.get("/v1/jurisdictions", headers=lw.auth(role))
    assert r.status_code == 200, r.text
    assert {j["id"] for j in r.json()["items"]} == visible


async def test_a_problem_is_json_even_when_the_client_asks_for_html(lw: Running) -> None:
    got = await lw.client.get("/v1/nowhere", headers={"Accept": "text/html"})
    assert_problem(got, 404)

"""Intake at its edges: oversized streamed bodies, shared references, the platform's own fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import orjson
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from libs.common.auth import Role, create_key
from services.intake.tables import Report
from tests.conftest import WEBHOOK_SECRET, Running


async def test_a_streamed_body_without_length_over_the_limit_is_413(embedded: Running) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):  # 2 MB in 100 kB pieces, no Content-Length
            yield b"x" * 100_000

    r = await embedded.client.post(
        "/v1/reports",
        content=chunks(),
        headers=embedded.auth() | {"content-type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413
    async with embedded.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0


async def test_a_source_ref_belongs_to_its_sender(embedded: Running) -> None:
    """Two agencies may use the same reference: both reports are kept; a retry is not."""
    _, other = await create_key(
        embedded.runtime.sessionmaker,
        embedded.runtime.registry,
        name="another agency",
        role=Role.REPORTER,
    )
    body = {
        "source": "agency",
        "source_ref": "HR-2026-000123",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春某公司"},
        "category": "wage_arrears",
    }
    first = await embedded.client.post("/v1/reports", json=body, headers=embedded.auth("reporter"))
    second = await embedded.client.post(
        "/v1/reports", json=body, headers={"Authorization": f"Bearer {other}"}
    )
    retry = await embedded.client.post("/v1/reports", json=body, headers=embedded.auth("reporter"))
    assert first.status_code == 202 and second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]


async def test_the_hotline_platforms_own_fields_are_kept_sealed(embedded: Running) -> None:
    order = {
        "order_no": "12345-EXTRA-1",
        "hotline": "12345",
        "received_at": "2026-11-21T09:30:00+08:00",
        "jurisdiction": "xuanen",
        "area": "zhushan",
        "content": "欠薪",
        "category": "欠薪",
        "enterprise_name": "宣恩某公司",
        "citizen_id": "420101199001011234",
    }
    body = orjson.dumps(order).decode()
    now = dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": "msg_extra_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(WEBHOOK_SECRET).sign("msg_extra_1", now, body),
        "content-type": "application/json",
    }
    r = await embedded.client.post("/v1/webhooks/hotline", content=body, headers=headers)
    assert r.status_code == 202, r.text
    async with embedded.runtime.sessionmaker() as session:
        row = await session.get(Report, r.json()["report_id"])
    assert row is not None and row.extra is not None
    assert "420101199001011234" not in orjson.dumps(row.extra).decode()
    opened = embedded.runtime.cipher.decrypt(row.extra["sealed"], context="intake_reports.extra")
    assert orjson.loads(opened) == {"citizen_id": "420101199001011234"}


async def test_a_work_order_from_the_future_is_refused(embedded: Running) -> None:
    order = {
        "order_no": "12345-FUTURE-1",
        "hotline": "12345",
        "received_at": "2099-01-01T09:30:00+08:00",
        "jurisdiction": "xuanen",
        "area": "zhushan",
        "content": "欠薪",
        "category": "欠薪",
    }
    body = orjson.dumps(order).decode()
    now = dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": "msg_future_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(WEBHOOK_SECRET).sign("msg_future_1", now, body),
        "content-type": "application/json",
    }
    r = await embedded.client.post("/v1/webhooks/hotline", content=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "received_at"]
    async with embedded.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0


async def test_the_openapi_document_says_errors_are_problem_json(embedded: Running) -> None:
    spec = (await embedded.client.get("/openapi.json")).json()
    errors = [
        (path, method, status, response)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.isdigit() and int(status) >= 400
    ]
    assert len(errors) > 20
    for path, method, status, response in errors:
        assert list(response["content"]) == ["application/problem+json"], (path, method, status)
    assert "ProblemDetail" in spec["components"]["schemas"]

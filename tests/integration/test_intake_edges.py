"""Intake at its edges: oversized streamed bodies, references shared between senders."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select

from libs.common.auth import Role, create_key
from services.intake.tables import Report
from tests.conftest import Running


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

"""A body over 1 MiB is refused with 413 before it is parsed, however it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select

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

"""Insight's statistics against a known mix, on the embedded default and on PostgreSQL;
rebuilt equals live; who may read them; bad ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.insight.rebuild import rebuild
from tests.conftest import Running, assert_problem, eventually, make_settings, running
from tests.integration.insight_mix import Mix, expected, put_mix, quiet


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
async def system(
    request: pytest.FixtureRequest, sqlite_url: str, pg_url: str
) -> AsyncIterator[Running]:
    url = sqlite_url if request.param == "embedded" else pg_url
    async with running(make_settings(database_url=url)) as r:
        yield r


async def statistics(system: Running, mix: Mix, role: str = "analyst") -> dict[str, Any]:
    params = {"jurisdiction": "changchun", "from": str(mix.start), "to": str(mix.end)}
    r = await system.client.get("/v1/statistics", params=params, headers=system.auth(role))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def settled(system: Running, mix: Mix) -> dict[str, Any]:
    """The statistics once they show the whole mix."""
    want = expected(mix)

    async def check() -> dict[str, Any] | None:
        got = await statistics(system, mix)
        return got if got == want else None

    try:
        return await eventually(check)  # type: ignore[no-any-return]
    except AssertionError:
        assert await statistics(system, mix) == want  # shows the difference
        raise


async def test_every_figure_of_a_known_mix_and_rebuilt_equals_live(system: Running) -> None:
    mix = await put_mix(system)
    live = await settled(system, mix)
    await quiet(system, mix)
    replayed = await rebuild(system.runtime, idle_seconds=1.0)
    assert replayed >= 4 + 7 + 4  # reports, notifications and cases at least
    assert await statistics(system, mix) == live


async def test_who_reads_and_bad_ranges(system: Running) -> None:
    ok = {"jurisdiction": "changchun", "from": "2026-10-01", "to": "2026-12-31"}
    for role in ("admin", "analyst", "responder"):
        r = await system.client.get("/v1/statistics", params=ok, headers=system.auth(role))
        assert r.status_code == 200, (role, r.text)
    for role in ("reporter", "analyst_xuanen"):
        r = await system.client.get("/v1/statistics", params=ok, headers=system.auth(role))
        assert_problem(r, 403)
    for bad in (
        {"from": "2026-12-31", "to": "2026-10-01"},
        {"from": "2016-01-01", "to": "2026-01-01"},
        {"from": "2026-13-01", "to": "2026-12-31"},
        {"from": "yesterday", "to": "2026-12-31"},
    ):
        r = await system.client.get(
            "/v1/statistics", params=ok | bad, headers=system.auth("analyst")
        )
        assert_problem(r, 422)
    empty = await system.client.get(
        "/v1/statistics",
        params={"jurisdiction": "xuanen", "from": "2020-01-01", "to": "2020-02-10"},
        headers=system.auth(),
    )
    body = empty.json()
    assert body["incidents"]["by_level"] == {"level1": 0, "level2": 0, "none": 0}
    assert [m["month"] for m in body["by_month"]] == ["2020-01", "2020-02"]
    assert body["notifications"]["on_time_rate"] is None

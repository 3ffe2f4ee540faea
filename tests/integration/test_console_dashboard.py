"""The dashboard draws its trend and on-time rate from insight's statistics; where those are
refused (a township's responder may not read them), the rest of the page still shows."""

from __future__ import annotations

import httpx

from libs.common.auth import Role
from services.console.users import change_password, create_user
from tests.conftest import console_sign_in, make_settings, running

NEW = "长春市-劳动关系-2026"


async def _signed_in(client: httpx.AsyncClient, name: str) -> None:
    r = await console_sign_in(client, name, NEW)
    assert r.status_code == 303 and r.headers["location"] == "/console/", r.text


async def test_without_statistics_the_dashboard_says_so_and_shows_the_rest(
    sqlite_url: str,
) -> None:
    async with running(make_settings(database_url=sqlite_url)) as system:
        db, registry = system.runtime.sessionmaker, system.runtime.registry
        for name, role, body in (
            ("township", Role.RESPONDER, "xuanen.zhushan.tripartite"),
            ("analyst", Role.ANALYST, None),
        ):
            jurisdiction = "xuanen" if body is None else None
            user, once = await create_user(
                db, registry, name=name, role=role, jurisdiction=jurisdiction, body_id=body
            )
            assert await change_password(db, user.id, old=once, new=NEW) is None

        await _signed_in(system.client, "township")
        page = await system.client.get("/console/?j=xuanen")
        assert page.status_code == 200, page.text
        assert "统计服务暂不可用，趋势与按时率无法显示" in page.text
        assert 'id="trend"' not in page.text and "超过报送时限" in page.text

        system.client.cookies.clear()
        await _signed_in(system.client, "analyst")
        page = await system.client.get("/console/?j=xuanen")
        assert page.status_code == 200, page.text
        assert 'id="trend"' in page.text and "统计服务暂不可用" not in page.text
        assert "本季度按时报送率" in page.text and "未到时限" in page.text

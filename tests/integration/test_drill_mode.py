"""Drill mode never touches real data (issue: "Drill mode mixes with real data"): a database
is a drill database or a real one, fixed by the first process that uses it; a process that
disagrees refuses to start and says why."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from laborwatch import apps
from laborwatch.migrate import upgrade
from libs.common.mode import ModeMismatch, fix_mode
from libs.common.runtime import Runtime
from tests.conftest import make_settings, running, submit
from tests.integration.test_cli import BIN, clean_env


@pytest.fixture
def fresh_db(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mode.db'}"
    upgrade(url)
    return url


async def test_a_real_database_refuses_a_drill_process(fresh_db: str) -> None:
    async with running(make_settings(database_url=fresh_db)) as real:
        await submit(real, {**_report(), "workers_involved": 20})
    drill = Runtime.from_settings(make_settings(database_url=fresh_db, time_scale=3600))
    try:
        with pytest.raises(ModeMismatch, match="real database") as refused:
            async with LifespanManager(apps.all_in_one(drill)):
                pass  # pragma: no cover - the start is refused
        assert "LABORWATCH_TIME_SCALE=3600" in str(refused.value)
        assert "drills never touch real data" in str(refused.value)
    finally:
        await drill.engine.dispose()


async def test_a_drill_database_refuses_a_real_process(fresh_db: str) -> None:
    drill = Runtime.from_settings(make_settings(database_url=fresh_db, time_scale=60))
    real = Runtime.from_settings(make_settings(database_url=fresh_db))
    try:
        fixed = await fix_mode(drill.sessionmaker, time_scale=60)
        assert fixed.drill is True and fixed.time_scale == 60
        # Another drill, even at another scale, is welcome; a real process is not.
        assert (await fix_mode(drill.sessionmaker, time_scale=3600)).drill is True
        with pytest.raises(ModeMismatch, match="drill database") as refused:
            await fix_mode(real.sessionmaker, time_scale=1.0)
        assert "may not use it" in str(refused.value)
    finally:
        await drill.engine.dispose()
        await real.engine.dispose()


async def test_drill_mode_is_said_loudly_at_start(
    fresh_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="libs.common.mode")
    async with running(make_settings(database_url=fresh_db, time_scale=3600)):
        pass
    said = [r.getMessage() for r in caplog.records if r.name == "libs.common.mode"]
    assert any("DRILL MODE" in s and "演练" in s and "3600" in s for s in said), said


def test_the_command_refuses_to_serve_the_other_mode(fresh_db: str, tmp_path: Path) -> None:
    asyncio.run(_fix_real(fresh_db))  # a real process used it first
    refused = subprocess.run(
        [str(BIN), "serve", "intake", "--no-migrate"],
        cwd=tmp_path,
        env=clean_env()
        | {
            "LABORWATCH_DATABASE_URL": fresh_db,
            "LABORWATCH_TIME_SCALE": "3600",
            "LABORWATCH_PORT": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "refusing to start" in refused.stderr and "real database" in refused.stderr
    assert "Traceback" not in refused.stderr


async def _fix_real(url: str) -> None:
    runtime = Runtime.from_settings(make_settings(database_url=url))
    try:
        assert (await fix_mode(runtime.sessionmaker, time_scale=1.0)).drill is False
    finally:
        await runtime.engine.dispose()


def _report() -> dict[str, object]:
    return {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春演练测试有限公司"},
        "category": "wage_arrears",
    }

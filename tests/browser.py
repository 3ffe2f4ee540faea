"""The console in a real browser: `laborwatch run` as a process of its own on a free port,
staff users made by `laborwatch users create`, and Debian's chromium driven by Playwright.

Shared by the browser tests and `make screenshots` (scripts/screenshots.py), so that the
pictures show the flows the tests prove.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, Playwright, ViewportSize

from laborwatch.migrate import upgrade
from libs.common.auth import Role, create_key
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from services.console.users import create_user

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NEW_PASSWORD = "长春市-劳动关系-2026"
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}

# The staff of the tests: name → (role, jurisdiction, body).
STAFF: dict[str, tuple[str, str | None, str | None]] = {
    "admin": ("admin", None, None),
    "office": ("responder", None, "changchun.leading_group_office"),
    "group": ("responder", None, "changchun.leading_group"),
    "director": ("responder", None, "changchun.director"),
    "analyst": ("analyst", "changchun", None),
    "reporter": ("reporter", None, None),
    "locked": ("analyst", "changchun", None),
    "wrong": ("analyst", "changchun", None),
}


def laborwatch_command() -> str:
    return str(Path(sys.executable).with_name("laborwatch"))


@dataclass
class System:
    """The whole system served by one process, and what the tests need of it."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    passwords: dict[str, str] = field(default_factory=dict)
    reporter_key: str = ""
    admin_key: str = ""

    def cli(self, *args: str) -> str:
        """Run a `laborwatch` command on the system's database; return its last line."""
        done = subprocess.run(
            [laborwatch_command(), *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    def report(self, **overrides: Any) -> str:
        """POST a report as a partner agency; return its id."""
        body: dict[str, Any] = {
            "source": "agency",
            "jurisdiction": "changchun",
            "region": "chaoyang",
            "occurred_at": "2026-11-20T09:30:00+08:00",
            "enterprise": {"name": "长春宏达建筑劳务有限公司"},
            "category": "wage_arrears",
            "workers_involved": 35,
            "summary": "35 名农民工反映被拖欠 2026 年 9 月至 11 月工资",
            "reporter": {"name": "张伟", "phone": "13800138000"},
        }
        body.update(overrides)
        r = httpx.post(
            f"{self.url}/v1/reports",
            json=body,
            headers={"Authorization": f"Bearer {self.reporter_key}"},
            timeout=30,
        )
        assert r.status_code == 202, r.text
        return str(r.json()["id"])

    def api(self, path: str) -> Any:
        """GET a /v1 path as an admin key."""
        r = httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.admin_key}"})
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_system(home: Path, port: int) -> System:
    """Migrate a fresh embedded database under `home`, make the staff, serve on `port`."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    settings = {"LABORWATCH_API_KEY_CACHE_SECONDS": "0"}
    # The staff are made in this process (a `laborwatch` command per user would cost seconds
    # each); the commands themselves are used by the lockout test and have tests of their own.
    return serve_embedded(home, port, settings, people=lambda s: _make_staff(s, home))


def serve_embedded(
    home: Path,
    port: int,
    settings: Mapping[str, str],
    *,
    people: Callable[[System], Coroutine[Any, Any, None]],
    database_url: str | None = None,
) -> System:
    """`laborwatch run` on `port`, on a freshly migrated database (SQLite under `home` by
    default), with `settings` (LABORWATCH_* variables) and the `people` made before it
    answers; its log in `home`/run.log."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")}
    env.update(
        LABORWATCH_DATABASE_URL=database_url or f"sqlite+aiosqlite:///{home / 'laborwatch.db'}",
        LABORWATCH_VAR_DIR=str(home / "var"),
        LABORWATCH_PORT=str(port),
        LABORWATCH_LOG_JSON="false",
        LABORWATCH_LOG_LEVEL="WARNING",
        **settings,
    )
    upgrade(env["LABORWATCH_DATABASE_URL"])
    with (home / "run.log").open("wb") as log:
        process = subprocess.Popen(
            [laborwatch_command(), "run", "--no-migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    system = System(url=f"http://127.0.0.1:{port}", env=env, process=process)
    asyncio.run(people(system))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{system.url}/healthz", timeout=2).status_code == 200:
                return system
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    system.stop()
    raise RuntimeError(f"laborwatch run did not start; see {home / 'run.log'}")


async def _make_staff(system: System, home: Path) -> None:
    settings = Settings(
        database_url=system.env["LABORWATCH_DATABASE_URL"], var_dir=home / "var", log_json=False
    )
    await make_people(system, settings)


async def make_people(
    system: System,
    settings: Settings,
    staff: Mapping[str, tuple[str, str | None, str | None]] = STAFF,
    *,
    admin: str = "市人社局值班",
) -> None:
    """The staff who sign in (their passwords kept on `system`), a reporter's key and an
    admin's, made in the system's database."""
    runtime = Runtime.from_settings(settings)
    try:
        for name, (role, jurisdiction, body) in staff.items():
            _, system.passwords[name] = await create_user(
                runtime.sessionmaker,
                runtime.registry,
                name=name,
                role=Role(role),
                jurisdiction=jurisdiction,
                body_id=body,
            )
        db, registry = runtime.sessionmaker, runtime.registry
        _, system.reporter_key = await create_key(db, registry, name="市信访局", role=Role.REPORTER)
        _, system.admin_key = await create_key(db, registry, name=admin, role=Role.ADMIN)
    finally:
        await runtime.engine.dispose()


async def launch(playwright: Playwright) -> Browser:
    """Debian's chromium (never a downloaded one); fails loudly when it is missing."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


async def sign_in(page: Page, system: System, name: str) -> None:
    """Sign in as a staff user; at the first sign-in, set the new password."""
    await page.goto(f"{system.url}/console/login")
    await page.get_by_label("用户名").fill(name)
    await page.get_by_label("密码", exact=True).fill(system.passwords[name])
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_load_state()
    if page.url.endswith("/console/password"):
        await page.get_by_label("原密码（或一次性密码）").fill(system.passwords[name])
        await page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="保存新密码").click()
        await page.wait_for_url("**/console/?changed=1")
        system.passwords[name] = NEW_PASSWORD


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]

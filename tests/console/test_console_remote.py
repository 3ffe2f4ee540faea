"""`laborwatch serve console` alone: the console reaches the services over HTTP at their
LABORWATCH_<SERVICE>_URL, with the user's token, as in the stack."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.browser import NEW_PASSWORD, System, laborwatch_command, start_system
from tests.conftest import console_sign_in, eventually, free_ports


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[System, str]]:
    services_port, console_port = free_ports(2)
    home = tmp_path_factory.mktemp("remote")
    system = start_system(home, services_port)
    env = system.env | {"LABORWATCH_PORT": str(console_port)}
    env |= {f"LABORWATCH_{s}_URL": system.url for s in ("INTAKE", "GRADING", "NOTIFIER")}
    with (home / "console.log").open("wb") as log:
        console = subprocess.Popen(
            [laborwatch_command(), "serve", "console"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{console_port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and console.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield system, url
    finally:
        console.terminate()
        console.wait(20)
        system.stop()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def test_the_console_alone_shows_the_services_data_for_the_user(
    remote: tuple[System, str],
) -> None:
    system, url = remote
    name = "长春远航汽车配件有限公司"
    report_id = system.report(enterprise={"name": name})

    async def placed() -> bool:
        return bool(system.api(f"/v1/reports/{report_id}")["incident_id"])

    await eventually(placed, timeout=30)
    async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
        r = await console_sign_in(browser, "analyst", system.passwords["analyst"])
        assert r.status_code == 303 and r.headers["location"] == "/console/password"
        page = await browser.get("/console/password")
        r = await browser.post(
            "/console/password",
            data={
                "csrf": _csrf(page.text),
                "old": system.passwords["analyst"],
                "new": NEW_PASSWORD,
                "again": NEW_PASSWORD,
            },
        )
        assert r.status_code == 303, r.text
        listing = await browser.get("/console/incidents")
        assert listing.status_code == 200
        assert name in listing.text and "二级黄色预警" in listing.text
        dashboard = await browser.get("/console/")
        assert dashboard.status_code == 200 and "总览" in dashboard.text

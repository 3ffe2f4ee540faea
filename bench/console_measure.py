"""The console benchmark's measures: a page's server time over real HTTP with a signed-in
session, the raw `/v1` calls it makes (as the same user, with the token the console would
sign), and the dashboard fully drawn in Debian's chromium.

Used by bench/console.py.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import httpx
from playwright.async_api import async_playwright
from sqlalchemy import select

from bench.console_seed import SECRET, runtime_of
from bench.run import percentile
from libs.common.stafftokens import sign, signing_key
from services.console.client import claims_of
from services.console.domain import TOKEN_TTL
from services.console.tables import StaffUser
from tests.browser import NEW_PASSWORD, System, launch, sign_in

DRAWN = "html[data-charts-drawn]"


def summary(took: list[float]) -> dict[str, float]:
    """p50 and p95 of milliseconds, and how many."""
    return {
        "p50_ms": round(percentile(took, 50), 1),
        "p95_ms": round(percentile(took, 95), 1),
        "n": len(took),
    }


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError(f"no csrf field in {html[:300]!r}")
    return found.group(1)


async def signed_in(system: System, name: str) -> httpx.AsyncClient:
    """A client with a session of the user (the new password set at the first sign-in)."""
    client = httpx.AsyncClient(base_url=system.url, timeout=60)
    form = await client.get("/console/login")
    password = system.passwords[name]
    r = await client.post(
        "/console/login", data={"csrf": _csrf(form.text), "name": name, "password": password}
    )
    if r.headers.get("location") == "/console/password":
        page = await client.get("/console/password")
        r = await client.post(
            "/console/password",
            data={"csrf": _csrf(page.text), "old": password, "new": NEW_PASSWORD,
                  "again": NEW_PASSWORD},
        )  # fmt: skip
        system.passwords[name] = NEW_PASSWORD
    if r.status_code != 303:
        raise RuntimeError(f"{name} could not sign in: {r.status_code}")
    return client


async def staff_token(system: System, name: str) -> str:
    """The token the console signs for the user, to make its calls as the user."""
    runtime = runtime_of(system)
    try:
        async with runtime.sessionmaker() as session:
            user = await session.scalar(select(StaffUser).where(StaffUser.name == name))
    finally:
        await runtime.engine.dispose()
    assert user is not None
    claims = claims_of(user, expires_at=dt.datetime.now(dt.UTC) + TOKEN_TTL)
    return sign(claims, signing_key(SECRET))


async def timed(
    client: httpx.AsyncClient, url: str, times: int, headers: dict[str, str] | None = None
) -> list[float]:
    """Milliseconds of `times` sequential GETs, after two that warm up (each must be 200)."""
    took = []
    for n in range(times + 2):
        began = time.perf_counter()
        r = await client.get(url, headers=headers)
        if n >= 2:
            took.append((time.perf_counter() - began) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:300]}")
    return took


async def page_and_calls(
    system: System,
    client: httpx.AsyncClient,
    token: str,
    page: tuple[str, str, list[str]],
    times: int,
) -> dict[str, Any]:
    """A page's server time, and each raw call it makes beside it."""
    name, url, calls = page
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=system.url, timeout=60) as raw:
        return {
            "page": name,
            "url": url,
            **summary(await timed(client, url, times)),
            "calls": [
                {"call": call, **summary(await timed(raw, call, times, headers))} for call in calls
            ],
        }


async def dashboard_drawn(system: System, name: str, loads: int) -> dict[str, Any]:
    """Milliseconds from navigation to `html[data-charts-drawn]` in headless chromium, per
    load of the dashboard (a session's browser: its scripts cached after the first load)."""
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 768})
            page = await context.new_page()
            await sign_in(page, system, name)
            took = []
            for n in range(loads + 1):
                began = time.perf_counter()
                await page.goto(f"{system.url}/console/?j=changchun")
                await page.wait_for_selector(DRAWN, state="attached", timeout=30_000)
                if n:
                    took.append((time.perf_counter() - began) * 1000)
            text = await page.locator("main").inner_text()
        finally:
            await browser.close()
    return {**summary(took), "unavailable_shown": "统计服务暂不可用" in text}

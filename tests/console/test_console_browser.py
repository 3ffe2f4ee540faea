"""The staff console in Debian's chromium: sign-in, the day's work, refusals, accessibility.

One `laborwatch run` process for the module (real HTTP, embedded database), a fresh browser
context (no cookies) per test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.browser import LAPTOP, System, axe_violations, launch, sign_in, start_system
from tests.conftest import eventually, free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = start_system(tmp_path_factory.mktemp("console"), free_port())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def _incident_of(system: System, report_id: str) -> str:
    async def placed() -> str | None:
        found = system.api(f"/v1/reports/{report_id}")["incident_id"]
        return str(found) if found else None

    result: str = await eventually(placed, timeout=30)
    return result


async def test_sign_in_sets_a_safe_cookie_and_asks_for_a_new_password(
    page: Page, context: BrowserContext, system: System
) -> None:
    await page.goto(f"{system.url}/")
    await expect(page).to_have_url(re.compile(r"/console/login"))
    await sign_in(page, system, "analyst")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("总览")
    await expect(page.get_by_role("status")).to_contain_text("新密码已保存")
    cookie = next(c for c in await context.cookies() if c["name"] == "lw_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    # The one-time password is spent: signing in again needs the new one.
    await page.get_by_role("button", name="退出").click()
    await expect(page).to_have_url(re.compile(r"/console/login"))
    await page.goto(f"{system.url}/console/incidents")
    await expect(page).to_have_url(re.compile(r"/console/login"))


async def test_a_report_posted_to_the_api_appears_on_the_dashboard_and_the_list(
    page: Page, system: System
) -> None:
    name = "长春鑫源机械制造有限公司"
    report_id = system.report(enterprise={"name": name}, workers_involved=60, region="nanguan")
    await _incident_of(system, report_id)
    await sign_in(page, system, "analyst")
    red = page.locator("a.stat.lvl-red .stat-value")
    await expect(red).to_have_text("1")
    tile = page.locator(".tile.lvl-red")
    await expect(tile).to_contain_text("南关区")
    await page.get_by_role("link", name="预警事件").click()
    row = page.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("一级红色")
    await expect(row).to_contain_text("拖欠工资")
    await row.get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_text("时间线完整")).to_be_visible()
    # The reporter's personal data is masked.
    await expect(page.get_by_text("138****8000")).to_be_visible()
    assert "13800138000" not in await page.content()


async def test_a_responder_acknowledges_with_a_note(page: Page, system: System) -> None:
    report_id = system.report(enterprise={"name": "长春永盛物业服务有限公司"})
    incident_id = await _incident_of(system, report_id)

    async def notified() -> list[dict[str, str]]:
        items: list[dict[str, str]] = system.api(
            f"/v1/notifications?incident_id={incident_id}&status=pending"
        )["items"]
        return items

    notification = (await eventually(notified, timeout=30))[0]
    await sign_in(page, system, "office")
    await page.get_by_role("link", name="待办").click()
    item = page.locator(".todo-item").filter(
        has=page.locator(f"a[href='/console/incidents/{incident_id}']")
    )
    await expect(item.locator(".countdown")).to_contain_text("剩余")
    await item.get_by_label("说明（已采取的措施等，可选）").fill("已联系企业负责人，正在核实")
    await item.get_by_role("button", name="确认收到").click()
    await expect(page.get_by_role("status")).to_contain_text("已确认收到")
    acked = system.api(f"/v1/notifications/{notification['id']}")
    assert acked["status"] == "acknowledged"
    assert acked["acknowledgement"]["note"] == "已联系企业负责人，正在核实"
    assert "office" in acked["acknowledgement"]["by"]


async def test_the_leading_group_assesses_and_a_missing_reason_is_shown_by_its_field(
    page: Page, system: System
) -> None:
    report_id = system.report(enterprise={"name": "长春华光纺织有限公司"}, workers_involved=12)
    incident_id = await _incident_of(system, report_id)
    await sign_in(page, system, "group")
    await page.get_by_role("link", name="评估").click()
    row = page.get_by_role("row").filter(has_text="长春华光纺织有限公司")
    await expect(row).to_contain_text("三级蓝色预警")
    await row.get_by_role("link", name=re.compile("评估")).click()
    await page.get_by_label("调整级别").check()
    await page.get_by_label("调整后的预警级别").select_option(label="二级黄色预警")
    await page.get_by_role("button", name="提交评估").click()
    # The API refuses a level change without a reason; the page says so in Chinese.
    await expect(page.locator(".error-summary")).to_be_visible()
    await page.get_by_label("理由").fill("涉及农民工集中讨薪，提级处置")
    await page.get_by_role("button", name="提交评估").click()
    await expect(page.locator(".notice")).to_contain_text("评估已保存")
    await expect(page.locator(".timeline")).to_contain_text("评估调整级别")
    incident = system.api(f"/v1/incidents/{incident_id}")
    assert incident["level"] == "yellow"
    assert incident["provisional"] is False
    await page.goto(f"{system.url}/console/assess")  # assessed: no longer awaiting
    await expect(page.get_by_role("heading", level=1)).to_contain_text("评估")
    await expect(page.get_by_role("row").filter(has_text="长春华光纺织有限公司")).to_have_count(0)


async def test_a_wrong_password_shows_an_error_and_sets_no_session(
    page: Page, context: BrowserContext, system: System
) -> None:
    await page.goto(f"{system.url}/console/login")
    await page.get_by_label("用户名").fill("wrong")
    await page.get_by_label("密码", exact=True).fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    assert not [c for c in await context.cookies() if c["name"] == "lw_session"]


async def test_ten_failures_lock_the_account_at_that_address_until_unlocked(
    page: Page, system: System
) -> None:
    await page.goto(f"{system.url}/console/login")
    for _ in range(10):
        await page.get_by_label("用户名").fill("locked")
        await page.get_by_label("密码", exact=True).fill("guess-guess-guess")
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state()
    await expect(page.get_by_role("alert")).to_contain_text("已锁定 15 分钟")
    # Even the right password waits now.
    await page.get_by_label("用户名").fill("locked")
    await page.get_by_label("密码", exact=True).fill(system.passwords["locked"])
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("已锁定")
    assert "unlocked locked" in system.cli("users", "unlock", "locked")
    await sign_in(page, system, "locked")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("总览")


async def test_a_cross_site_post_is_refused(page: Page, system: System) -> None:
    await sign_in(page, system, "admin")
    # A page of another site that posts a form to the console as soon as it loads.
    evil = (
        f'<form id="f" method="post" action="{system.url}/console/admin/user">'
        '<input name="name" value="intruder"><input name="role" value="admin"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )

    async def serve(route: object) -> None:
        await route.fulfill(status=200, content_type="text/html", body=evil)  # type: ignore[attr-defined]

    await page.route("http://evil.test/**", serve)
    await page.goto("http://evil.test/attack")
    await page.wait_for_url(re.compile(rf"{re.escape(system.url)}/console/"))
    assert "intruder" not in system.cli("users", "list")
    # The same request with the session cookie but no CSRF token is refused too.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(cookies={"lw_session": cookies["lw_session"]}) as client:
        r = await client.post(
            f"{system.url}/console/admin/user",
            data={"name": "intruder", "role": "admin"},
            headers={"Origin": "http://evil.test"},
        )
    assert r.status_code == 403
    assert "intruder" not in system.cli("users", "list")


async def test_a_reporter_sees_no_console_pages(page: Page, system: System) -> None:
    await sign_in(page, system, "reporter")
    # Its one page is the monitoring upload (tests/console/test_console_more_browser.py).
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link")).to_have_text(["监测数据报送"])
    for path in ("/console/incidents", "/console/todo", "/console/assess", "/console/admin"):
        response = await page.goto(f"{system.url}{path}")
        assert response is not None and response.status == 403, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")


async def test_an_analyst_may_not_open_the_admin_page(page: Page, system: System) -> None:
    await sign_in(page, system, "analyst")
    response = await page.goto(f"{system.url}/console/admin")
    assert response is not None and response.status == 403


async def test_no_page_has_a_serious_accessibility_violation(
    browser: Browser, system: System
) -> None:
    report_id = system.report(enterprise={"name": "长春金辉食品有限公司"})
    incident_id = await _incident_of(system, report_id)
    ctx = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
    try:
        page = await ctx.new_page()
        await page.goto(f"{system.url}/console/login")
        found = {"login": await axe_violations(page)}
        await sign_in(page, system, "admin")
        for path in (
            "/console/",
            "/console/incidents",
            f"/console/incidents/{incident_id}",
            "/console/assess",
            "/console/todo",
            "/console/admin",
        ):
            await page.goto(f"{system.url}{path}")
            await page.wait_for_load_state("networkidle")
            found[path] = await axe_violations(page)
        bad = {p: [(v["id"], v["help"]) for v in vs] for p, vs in found.items() if vs}
        assert not bad, bad
    finally:
        await ctx.close()


def test_the_vendor_files_are_served_by_the_app_itself(system: System) -> None:
    for name in ("htmx.min.js", "echarts.min.js"):
        r = httpx.get(f"{system.url}/console/static/vendor/{name}")
        assert r.status_code == 200 and len(r.content) > 10_000, name
    assert httpx.get(f"{system.url}/console/static/%2e%2e/app.py").status_code == 404

"""The statistics, monitoring and sharing pages of the console in Debian's chromium: figures
for a period, a briefing downloaded and read back, an enterprise registered and a file with a
bad row refused row by row, a subscription's secret shown once, and who sees none of it.

One `laborwatch run` process for the module (real HTTP, embedded database), a fresh browser
context (no cookies) per test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from libs.common.enterprise import credit_code_check_char
from tests.browser import LAPTOP, System, axe_violations, launch, sign_in, start_system
from tests.conftest import eventually, free_port

pytestmark = pytest.mark.browser

NEW_PAGES = ("/console/statistics", "/console/monitoring", "/console/admin/subscriptions")


def code(n: int) -> str:
    """A valid unified social credit code (its check character computed)."""
    first = f"91220104MA{n:07d}"
    return first + credit_code_check_char(first)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = start_system(tmp_path_factory.mktemp("console-more"), free_port())
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
    ctx = await browser.new_context(
        viewport=LAPTOP, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


_COUNTED: dict[str, dict[str, Any]] = {}


async def _counted(system: System) -> dict[str, Any]:
    """This quarter's statistics once they count a report (posted once for the module)."""
    if system.url in _COUNTED:
        return _COUNTED[system.url]
    system.report(enterprise={"name": "长春宏远汽车配件有限公司"}, workers_involved=60)

    async def counted() -> dict[str, Any] | None:
        found: dict[str, Any] = system.api(
            "/v1/statistics?jurisdiction=changchun&from=2026-10-01&to=2026-12-31"
        )
        return found if found["reports"]["total"] and found["incidents"]["total"] else None

    _COUNTED[system.url] = await eventually(counted, timeout=30)
    return _COUNTED[system.url]


async def test_the_statistics_of_a_period_are_shown_after_a_report(
    page: Page, system: System
) -> None:
    stats = await _counted(system)
    await sign_in(page, system, "analyst")
    await page.get_by_role("link", name="统计与简报").click()
    await page.get_by_role("link", name=re.compile("本季度")).click()
    await expect(page.get_by_label("起始日期")).to_have_value("2026-10-01")
    await expect(page.locator("#s-reports")).to_have_text(str(stats["reports"]["total"]))
    levels = page.get_by_role("table", name="按预警级别")
    red = stats["incidents"]["by_level"]["red"]
    assert red >= 1, stats
    row = levels.get_by_role("row").filter(has_text="一级红色预警")
    await expect(row.get_by_role("cell")).to_have_text(str(red))
    categories = page.get_by_role("table", name="按类别")
    await expect(categories).to_contain_text("拖欠工资")
    # The charts are drawn (ECharts, as SVG).
    await expect(page.locator("#by-month svg")).to_have_count(1)
    # A period the wrong way round is the API's 422, said in Chinese by the dates.
    await page.get_by_label("起始日期").fill("2026-12-31")
    await page.get_by_label("截止日期（含）").fill("2026-10-01")
    await page.get_by_role("button", name="统计").click()
    await expect(page.get_by_role("alert")).to_contain_text("操作未完成")


async def test_a_briefing_is_written_downloaded_and_issued(
    page: Page, system: System, tmp_path: Path
) -> None:
    await _counted(system)
    await sign_in(page, system, "analyst")
    await page.goto(f"{system.url}/console/statistics?j=changchun&quick=quarter")
    await page.get_by_label("简报期间").select_option("2026-Q4")
    await page.get_by_label("影响因素").fill("建筑行业回款周期拉长，欠薪风险上升")
    await page.get_by_label("下一步工作").fill("开展冬季根治欠薪专项行动")
    await page.get_by_role("button", name="保存形势研判").click()
    await expect(page.get_by_role("status")).to_contain_text("形势研判已保存")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name=re.compile(r"Word（\.docx） 2026年第四季度")).click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".docx")
    saved = tmp_path / "briefing.docx"
    await download.save_as(saved)
    text = "\n".join(p.text for p in docx.Document(str(saved)).paragraphs)
    assert "2026年第四季度" in text
    assert "建筑行业回款周期拉长，欠薪风险上升" in text
    await page.get_by_label("简报期间").select_option("2026-Q4")
    await page.get_by_role("button", name="印发该期简报").click()
    await expect(page.get_by_role("status")).to_contain_text("2026年第1期")
    # Issued: the analysis is frozen, and the page says so in Chinese.
    await page.get_by_label("简报期间").select_option("2026-Q4")
    await page.get_by_label("重大风险").fill("迟到的修改")
    await page.get_by_role("button", name="保存形势研判").click()
    await expect(page.get_by_role("alert")).to_contain_text("已印发")


async def test_a_review_meeting_is_recorded(page: Page, system: System) -> None:
    await sign_in(page, system, "analyst")
    await page.goto(f"{system.url}/console/statistics?j=changchun&quick=quarter")
    await page.get_by_label("召开时间（北京时间）").fill("2026-11-25T09:30")
    await page.get_by_label("参会单位和人员（每行一个）").fill("市人社局\n市总工会")
    await page.get_by_label("研判结论").fill("建筑领域欠薪风险较高")
    await page.get_by_label("工作措施").fill("约谈重点企业")
    await page.get_by_role("button", name="保存会商记录").click()
    await expect(page.get_by_role("status")).to_contain_text("会商记录已保存")
    row = page.get_by_role("row").filter(has_text="建筑领域欠薪风险较高")
    await expect(row).to_contain_text("市人社局、市总工会")
    await expect(row).to_contain_text("2026-11-25 09:30")


async def test_an_enterprise_is_registered_and_a_bad_row_of_a_csv_is_named(
    page: Page, context: BrowserContext, system: System
) -> None:
    registered, stranger = code(1), code(2)
    await sign_in(page, system, "analyst")
    await page.get_by_role("link", name="定点监测").click()
    await page.get_by_label("统一社会信用代码（18 位）").fill(registered)
    await page.get_by_label("企业名称").fill("长春天宇汽车零部件有限公司")
    await page.get_by_label("区域").select_option(label="朝阳区")
    await page.get_by_label("用工人数（可选）").fill("320")
    await page.get_by_label("列入原因").select_option(label="受贸易摩擦影响")
    await page.get_by_role("button", name="保存登记").click()
    await expect(page.get_by_role("status")).to_contain_text("已登记")
    await expect(page.get_by_role("row").filter(has_text=registered)).to_contain_text("朝阳区")
    page = await context.new_page()
    await sign_in(page, system, "reporter")
    await page.get_by_role("link", name="监测数据报送").click()
    header = "credit_code,period,headcount,wages_due_yuan,wages_paid_yuan,"
    header += "social_insurance_arrears_months,layoffs,disputes\n"
    good = f"{registered},2026-10,320,1600000,1600000,0,0,0\n"
    bad = f"{stranger},2026-10,100,500000,500000,0,0,0\n"
    await _upload(page, "十月.csv", header + good + bad)
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("第 3 行 · 统一社会信用代码")
    await expect(summary).to_contain_text("未列入定点监测名录")
    await expect(summary).not_to_contain_text("第 2 行")
    await _upload(page, "十一月.csv", header + good + good.replace("2026-10,320", "2026-11,318"))
    await expect(page.get_by_role("status")).to_contain_text("已接收 2 行")
    page = await context.new_page()
    await sign_in(page, system, "analyst")
    await page.goto(f"{system.url}/console/monitoring/enterprises/{registered}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("长春天宇汽车零部件有限公司")
    await expect(page.locator(".spark svg")).to_have_count(6)


async def _upload(page: Page, name: str, text: str) -> None:
    await page.get_by_label("月度数据文件").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    await page.get_by_role("button", name="上传").click()
    await page.wait_for_load_state()


async def test_an_admin_creates_a_subscription_and_sees_its_secret_once(
    page: Page, system: System
) -> None:
    await sign_in(page, system, "admin")
    await page.get_by_role("link", name="系统管理").click()
    await page.get_by_role("link", name=re.compile("共享订阅")).click()
    await page.get_by_label("名称").fill("市信访局预警推送")
    await page.get_by_label("接收部门").fill("长春市信访局")
    await page.get_by_label("推送地址（https 网址）").fill("https://xfj.example.gov.cn/hook")
    await page.get_by_role("button", name="创建订阅").click()
    secret = await page.locator("#shown-secret").text_content()
    assert secret is not None and secret.startswith("whsec_")
    row = page.get_by_role("row").filter(has_text="市信访局预警推送")
    await expect(row).to_contain_text("正常")
    await expect(page.get_by_role("heading", name="推送记录")).to_be_visible()
    await page.goto(f"{system.url}/console/admin/subscriptions")
    await expect(row).to_have_count(1)
    assert secret not in await page.content()
    # A refused address is said in Chinese by its field.
    await page.get_by_label("名称").fill("内网测试")
    await page.get_by_label("接收部门").fill("测试")
    await page.get_by_label("推送地址（https 网址）").fill("http://127.0.0.1:9/hook")
    await page.get_by_role("button", name="创建订阅").click()
    await expect(page.locator(".field-error")).to_contain_text("推送地址")
    await row.get_by_role("button", name=re.compile("删除")).click()
    await expect(page.get_by_role("status")).to_contain_text("订阅已删除")
    assert not system.api("/v1/subscriptions")["items"]


async def test_a_reporter_and_a_township_responder_see_none_of_these_pages(
    page: Page, context: BrowserContext, system: System
) -> None:
    await sign_in(page, system, "reporter")
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link")).to_have_text(["监测数据报送"])
    for path in NEW_PAGES:
        response = await page.goto(f"{system.url}{path}")
        assert response is not None and response.status == 403, path
    line = system.cli(
        "users",
        "create",
        "--name",
        "zhushan",
        "--role",
        "responder",
        "--body",
        "xuanen.zhushan.tripartite",
    )
    system.passwords["zhushan"] = line.split()[-1]
    page = await context.new_page()
    await sign_in(page, system, "zhushan")
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link", name="待办")).to_be_visible()
    await expect(nav.get_by_role("link", name="统计与简报")).to_have_count(0)
    await expect(nav.get_by_role("link", name="定点监测")).to_have_count(0)
    for path in (*NEW_PAGES, "/console/observations"):
        response = await page.goto(f"{system.url}{path}")
        assert response is not None and response.status == 403, path


async def test_the_new_pages_have_no_serious_accessibility_violation(
    browser: Browser, system: System
) -> None:
    ctx = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
    try:
        page = await ctx.new_page()
        await sign_in(page, system, "admin")
        await page.goto(f"{system.url}/console/admin/subscriptions")
        await page.get_by_label("名称").fill("人社局值班推送")
        await page.get_by_label("接收部门").fill("市人社局")
        await page.get_by_label("推送地址（https 网址）").fill("https://hr.example.gov.cn/hook")
        await page.get_by_role("button", name="创建订阅").click()
        found = {"subscription": await axe_violations(page)}
        for path in (
            *NEW_PAGES,
            "/console/observations",
            f"/console/monitoring/enterprises/{code(1)}",
        ):
            await page.goto(f"{system.url}{path}")
            await page.wait_for_load_state("networkidle")
            found[path] = await axe_violations(page)
        bad = {p: [(v["id"], v["help"]) for v in vs] for p, vs in found.items() if vs}
        assert not bad, bad
    finally:
        await ctx.close()


def test_a_briefing_is_downloaded_only_by_a_signed_in_user(system: System) -> None:
    r = httpx.get(f"{system.url}/console/statistics/briefings/changchun/2026-Q4.docx")
    assert r.status_code == 303 and "/console/login" in r.headers["location"]

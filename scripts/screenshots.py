"""`make screenshots`: the console's main pages, as the browser tests drive them, into
docs/console/*.png (1366×768, and the dashboard on a phone).

A fresh embedded system on a free port, a few reports of Changchun posted to the API, then
the staff's day: the dashboard, the list, an incident, the to-do list, the assessment, a
case (处置) and its form (情况表), the admin page. The tests never write into the tree; this
script does, on purpose.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import screenshots_more  # noqa: E402
from tests.browser import LAPTOP, PHONE, System, launch, sign_in, start_system  # noqa: E402
from tests.conftest import free_port  # noqa: E402

OUT = ROOT / "docs" / "console"

REPORTS = [
    {
        "enterprise": {"name": "长春宏达建筑劳务有限公司"},
        "workers_involved": 68,
        "region": "chaoyang",
    },
    {
        "enterprise": {"name": "长春鑫源机械制造有限公司"},
        "workers_involved": 26,
        "region": "kuancheng",
        "category": "layoff",
        "terminations": 12,
    },
    {
        "enterprise": {"name": "长春永盛物业服务有限公司"},
        "workers_involved": 14,
        "region": "nanguan",
        "category": "labor_contract",
    },
    {
        "enterprise": {"name": "吉林省华光纺织有限公司"},
        "workers_involved": 31,
        "region": "lvyuan",
        "amount_yuan": "2400000",
    },
    {
        "enterprise": {"name": "长春金辉食品有限公司"},
        "workers_involved": 11,
        "region": "erdao",
        "summary": "11 名工人反映加班费未足额支付",
    },
]


PLAN = {
    "summary": "成立应急处置小组，约谈企业负责人，督促制定欠薪清偿计划",
    "measures": ["约谈企业法定代表人", "劳动保障监察立案调查", "联系总包单位垫付"],
    "handling_unit": "changchun.member.labor_inspection",
    "lead": "王五",
    "phone": "0431-88776655",
}


def _wait_for_incidents(system: System, ids: list[str]) -> list[str]:
    deadline = time.monotonic() + 60
    placed: list[str] = []
    while time.monotonic() < deadline:
        placed = [system.api(f"/v1/reports/{i}")["incident_id"] for i in ids]
        if all(placed):
            return placed
        time.sleep(0.5)
    raise RuntimeError("the reports were not graded within a minute")


async def _shoot(page: Page, name: str, *, full: bool = True) -> None:
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"wrote docs/console/{name}.png")


async def _day(system: System, incidents: list[str], case_id: str) -> None:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport=LAPTOP, locale="zh-CN", device_scale_factor=1)
        page = await context.new_page()
        await page.goto(f"{system.url}/console/login")
        await _shoot(page, "login", full=False)
        await sign_in(page, system, "office")
        await page.goto(f"{system.url}/console/")
        await _shoot(page, "dashboard")
        await page.goto(f"{system.url}/console/incidents")
        await _shoot(page, "incidents")
        await page.goto(f"{system.url}/console/todo")
        await _shoot(page, "todo")
        await context.close()
        context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, system, "group")
        await page.goto(f"{system.url}/console/assess")
        await _shoot(page, "assess")
        await page.goto(f"{system.url}/console/incidents/{incidents[1]}")
        await _shoot(page, "incident")
        await context.close()
        context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, system, "admin")
        await page.goto(f"{system.url}/console/admin?body=changchun.leading_group_office")
        await _shoot(page, "admin")
        await context.close()
        await _cases(browser, system, case_id)
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
        page = await phone.new_page()
        await sign_in(page, system, "analyst")
        await page.goto(f"{system.url}/console/")
        await _shoot(page, "dashboard-phone")
        await browser.close()


def _red_case(system: System, incident_id: str) -> str:
    """The red warning's case, its plan submitted and a progress entry recorded."""
    deadline = time.monotonic() + 30
    while not (case_id := system.api(f"/v1/incidents/{incident_id}")["case_id"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the red warning got no case within 30 s")
        time.sleep(0.3)
    headers = {"Authorization": f"Bearer {system.admin_key}"}
    for method, step, body in (
        ("PUT", "plan", PLAN),
        ("POST", "progress", {"measures_taken": "应急处置小组已抵达现场，与劳资双方代表座谈"}),
    ):
        r = httpx.request(
            method, f"{system.url}/v1/cases/{case_id}/{step}", json=body, headers=headers
        )
        r.raise_for_status()
    return str(case_id)


async def _cases(browser: Browser, system: System, case_id: str) -> None:
    """处置 and 情况表: the red warning's plan awaits the director (报局长审定)."""
    context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, system, "director")
    await page.goto(f"{system.url}/console/cases")
    await _shoot(page, "cases")
    await page.goto(f"{system.url}/console/cases/{case_id}")
    await _shoot(page, "case")
    await context.close()
    context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = await context.new_page()
    await sign_in(page, system, "group")
    await page.goto(f"{system.url}/console/cases/{case_id}/form")
    await _shoot(page, "case-form")
    await context.close()


def main() -> None:
    """Start a system, post the reports, drive the pages, write the pictures."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        system = start_system(Path(home), free_port())
        try:
            ids = [system.report(**r) for r in REPORTS]
            incidents = _wait_for_incidents(system, ids)
            # One warning acknowledged already, so the incident page shows an acknowledgement.
            pending = system.api(f"/v1/notifications?incident_id={incidents[1]}")["items"]
            if pending:
                httpx.post(
                    f"{system.url}/v1/notifications/{pending[0]['id']}/ack",
                    json={"note": "已约谈企业负责人，正在核实裁员名单"},
                    headers={"Authorization": f"Bearer {system.admin_key}"},
                )
            asyncio.run(_day(system, incidents, _red_case(system, incidents[0])))
            enterprise = screenshots_more.prepare(system)
            asyncio.run(screenshots_more.shoot(system, _shoot, enterprise))
        finally:
            system.stop()


if __name__ == "__main__":
    main()

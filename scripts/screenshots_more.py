"""`make screenshots`, continued: 统计与简报, 定点监测 (the register, an enterprise, the upload)
and 共享订阅, on the system scripts/screenshots.py started and fed its reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page

from libs.common.enterprise import credit_code_check_char
from tests.browser import LAPTOP, System, launch, sign_in

Shoot = Callable[[Page, str], Awaitable[None]]
ENTERPRISES = (
    ("长春天宇汽车零部件有限公司", "chaoyang", "trade_friction", 320),
    ("长春恒达物流有限公司", "kuancheng", "new_economy", 140),
)


def _code(n: int) -> str:
    first = f"91220104MA{n:07d}"
    return first + credit_code_check_char(first)


def _call(system: System, method: str, path: str, kind: str | None = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {system.admin_key}"}
    if kind:
        headers["Content-Type"] = kind
    r = httpx.request(method, f"{system.url}{path}", headers=headers, timeout=30, **kwargs)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def prepare(system: System) -> str:
    """Two monitored enterprises with seven months of figures (the last one with unpaid
    wages), a review meeting and the office's analysis; return the first one's code."""
    for n, (name, region, reason, headcount) in enumerate(ENTERPRISES, start=1):
        body = {"name": name, "jurisdiction": "changchun", "region": region, "reason": reason}
        _call(
            system,
            "PUT",
            f"/v1/monitoring/enterprises/{_code(n)}",
            json=body | {"headcount": headcount, "industry": "制造业" if n == 1 else "交通运输业"},
        )
    rows = [
        "credit_code,period,headcount,wages_due_yuan,wages_paid_yuan,"
        "social_insurance_arrears_months,layoffs,disputes"
    ]
    for month in range(5, 12):
        paid = 1_600_000 if month < 11 else 1_100_000
        rows.append(f"{_code(1)},2026-{month:02d},{322 - month},1600000,{paid},0,{month // 6},0")
    _call(
        system,
        "POST",
        "/v1/monitoring/observations",
        content="\n".join(rows).encode(),
        kind="text/csv",
    )
    _call(
        system,
        "POST",
        "/v1/reviews",
        json={
            "jurisdiction": "changchun",
            "held_at": "2026-11-25T09:30:00+08:00",
            "kind": "regular",
            "attendees": ["市人社局", "市总工会", "市工商联"],
            "incident_ids": [],
            "conclusions": "建筑领域欠薪风险较高，需重点关注",
            "measures": "约谈重点企业，开展专项检查",
        },
    )
    _call(
        system,
        "PUT",
        "/v1/briefings/changchun/2026-Q4/narrative",
        json={
            "factors": "建筑行业回款周期拉长",
            "risks": "年底集中讨薪",
            "trends": "欠薪预警增多",
            "next_steps": "开展冬季根治欠薪专项行动",
        },
    )
    return _code(1)


async def shoot(system: System, shoot_page: Shoot, enterprise: str) -> None:
    """The new pages at 1366×768, as an analyst and an admin would see them."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, system, "analyst")
        await page.goto(f"{system.url}/console/statistics?j=changchun&quick=quarter")
        await shoot_page(page, "statistics")
        await page.goto(f"{system.url}/console/monitoring?j=changchun")
        await shoot_page(page, "monitoring")
        await page.goto(f"{system.url}/console/monitoring/enterprises/{enterprise}")
        await shoot_page(page, "enterprise")
        await context.close()
        context = await browser.new_context(viewport=LAPTOP, locale="zh-CN")
        page = await context.new_page()
        await sign_in(page, system, "admin")
        await page.goto(f"{system.url}/console/admin/subscriptions")
        await page.get_by_label("名称").fill("市信访局预警推送")
        await page.get_by_label("接收部门").fill("长春市信访局")
        await page.get_by_label("推送地址（https 网址）").fill("https://xfj.example.gov.cn/hook")
        await page.get_by_role("button", name="创建订阅").click()
        await shoot_page(page, "subscriptions")
        await page.goto(f"{system.url}/console/observations")
        await page.get_by_label("月度数据文件").set_input_files(
            {
                "name": "十一月.csv",
                "mimeType": "text/csv",
                "buffer": "credit_code,period,headcount,wages_due_yuan,wages_paid_yuan,"
                "social_insurance_arrears_months,layoffs,disputes\n"
                f"{_code(9)},2026-11,100,500000,600000,0,0,0\n".encode(),
            }
        )
        await page.get_by_role("button", name="上传").click()
        await shoot_page(page, "upload")
        await browser.close()

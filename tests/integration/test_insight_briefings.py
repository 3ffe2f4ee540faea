"""Briefings: the .docx opens with its title, tables and charts; every figure of the .xlsx
matches the known mix; narrative, issue (第N期, frozen); bad and future periods; an empty
period says so."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import openpyxl
from docx import Document

from tests.conftest import Running, assert_problem
from tests.integration.insight_mix import DIRECTOR, SHANGHAI, Mix, put_mix
from tests.integration.test_insight_statistics import settled


def quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def sheet_rows(book: Any, name: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in book[name].iter_rows(values_only=True)]


def row_named(rows: list[tuple[Any, ...]], name: str) -> tuple[Any, ...]:
    return next(r for r in rows if r and r[0] == name)


async def test_a_briefing_of_the_known_mix(embedded: Running) -> None:
    system = embedded
    mix: Mix = await put_mix(system)
    await settled(system, mix)
    today = mix.now.astimezone(SHANGHAI).date()
    code = quarter(today)
    base = f"/v1/briefings/changchun/{code}"
    narrative = {
        "factors": "建筑业欠薪集中。",
        "risks": "年底讨薪",
        "trends": "平稳",
        "next_steps": "专项检查",
    }
    r = await system.client.put(f"{base}/narrative", json=narrative, headers=system.auth("analyst"))
    assert r.status_code == 200, r.text

    r = await system.client.get(f"{base}.docx", headers=system.auth("analyst"))
    assert r.status_code == 200, r.text
    document = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "长春市劳动关系领域风险监测预警季度简报" in text
    assert f"截至{today.year}年{today.month}月{today.day}日" in text
    assert "草稿" in text
    for section in (
        "一、总体情况",
        "二、预警情况",
        "三、处置情况",
        "四、报送时效",
        "五、定点监测情况",
        "六、会商研判",
        "七、形势研判",
        "影响因素",
        "建筑业欠薪集中。",
    ):
        assert section in text, section
    assert len(document.tables) >= 2  # the headline figures, the red and yellow incidents
    assert len(document.inline_shapes) >= 3  # by month, categories, regions, on time
    headline = document.tables[0]
    assert [c.text for c in headline.rows[0].cells] == [
        "指标",
        "本期",
        "上期",
        "环比",
        "去年同期",
        "同比",
    ]
    assert [c.text for c in headline.rows[1].cells][:2] == ["受理风险信息（条）", "4"]

    r = await system.client.get(f"{base}.xlsx", headers=system.auth("responder"))
    assert r.status_code == 200, r.text
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [
        "总体情况",
        "预警情况",
        "事件清单",
        "报送时效",
        "定点监测",
        "会商研判",
    ]
    overview = sheet_rows(book, "总体情况")
    # A running quarter counts up to today: the warnings issued now fall due today or
    # tomorrow (Shanghai), so the notifications are taken from the statistics of that range.
    start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    stats = await system.client.get(
        "/v1/statistics",
        params={"jurisdiction": "changchun", "from": str(start), "to": str(today)},
        headers=system.auth(),
    )
    n = stats.json()["notifications"]
    assert n["by_body"][DIRECTOR] == {"due": 4, "on_time": 1, "late": 3}
    figures = {
        "受理风险信息（条）": 4,
        "风险事件（起）": 3,
        "发布预警（起）": 2,
        "集群性事件（起）": 0,
        "涉及职工（人）": 100,
        "涉及金额（万元）": 600,
        "应报送通知（件）": n["due"],
        "按时报送率（%）": round(n["on_time_rate"] * 100, 1),
        "新立处置案件（件）": 2,
        "办结案件（件）": 1,
    }
    for name, value in figures.items():
        assert row_named(overview, name)[1] == value, name
    warnings = sheet_rows(book, "预警情况")
    assert row_named(warnings, "一级红色预警")[1] == 1
    assert row_named(warnings, "二级黄色预警")[1] == 1
    assert row_named(warnings, "未达预警")[1] == 1
    assert row_named(warnings, "拖欠工资")[1] == 3
    assert row_named(warnings, "朝阳区")[1] == 1
    assert row_named(warnings, "建筑业")[1] == 1
    assert row_named(warnings, "部门报送")[1] == 3
    assert row_named(warnings, "12345热线")[1] == 1
    incidents = sheet_rows(book, "事件清单")[3:]
    assert sorted(r[5] for r in incidents if r[0]) == ["一级红色预警", "二级黄色预警"]
    assert {r[11] for r in incidents if r[0]} == {"已办结", "处置中（待提交预案）"}
    timeliness = sheet_rows(book, "报送时效")
    assert row_named(timeliness, "应报送")[1] == n["due"]
    assert row_named(timeliness, "按时")[1] == n["on_time"]
    assert row_named(timeliness, "超时或未报送")[1] == 3
    assert row_named(timeliness, "局长")[1:4] == (4, 1, 3)
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:  # openpyxl does not read charts
        assert len([n for n in package.namelist() if n.startswith("xl/charts/chart")]) >= 2

    r = await system.client.post(f"{base}/issue", headers=system.auth("analyst"))
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 1
    assert_problem(await system.client.post(f"{base}/issue", headers=system.auth()), 409)
    assert_problem(
        await system.client.put(f"{base}/narrative", json=narrative, headers=system.auth()), 409
    )
    issued = await system.client.get(f"{base}.docx", headers=system.auth())
    assert "第1期" in "\n".join(p.text for p in Document(io.BytesIO(issued.content)).paragraphs)


async def test_bad_future_foreign_and_empty_periods(embedded: Running) -> None:
    system = embedded
    for bad in ("2026-Q5", "2026-H3", "2026-13", "26-Q1", "2026Q1"):
        r = await system.client.get(f"/v1/briefings/changchun/{bad}.docx", headers=system.auth())
        assert_problem(r, 422)
    r = await system.client.get("/v1/briefings/changchun/2099-Q1.xlsx", headers=system.auth())
    assert_problem(r, 422)
    r = await system.client.get(
        "/v1/briefings/changchun/2025-Q4.docx", headers=system.auth("analyst_xuanen")
    )
    assert_problem(r, 403)
    r = await system.client.get("/v1/briefings/xuanen/2020-H1.docx", headers=system.auth())
    assert r.status_code == 200, r.text
    text = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "宣恩县劳动关系领域风险监测预警半年监测分析报告" in text
    assert "2020年上半年" in text and "截至" not in text
    assert "未收到风险信息" in text
    assert "（待填写）" in text

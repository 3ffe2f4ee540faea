"""The warning-information form (预警信息情况表, seed 000's attachment), on SQLite and on
PostgreSQL: a Xuan'en level-1 case whose form, filed within 6 h, acknowledges the township's
notification (`via: "form"`) and is on time, goes to the county, and reads back from the
`.docx` row by row; filed late (a drill, where 6 h last 1 s) it is recorded late (迟报)."""

from __future__ import annotations

import io
from typing import Any

import docx
from sqlalchemy import select

from services.notifier.tables import Notification
from tests.conftest import Running, assert_problem, eventually, make_settings, running, submit
from tests.integration.casework import (
    COUNTY,
    JIAOYUAN,
    LEVEL1_IN_1S,
    ZHUSHAN,
    a_form,
    case_of,
    incident,
    incident_id_of,
    notifications,
    responder,
    xuanen_report,
)

LABELS = [
    "预警企业名称",
    "预警级别",
    "预警信息（时间、地点、起因、诉求和规模）",
    "原因分析",
    "当前事态状况及发展趋势预测",
    "已采取措施及成效",
    "下一步工作方案",
    "企业相关资料信息",
]
TITLE = "宣恩县劳动关系领域风险监测预警信息表"


async def read_docx(system: Running, case_id: str) -> tuple[list[str], list[list[str]]]:
    """The form's paragraphs and table rows, as python-docx reads them back."""
    got = await system.client.get(f"/v1/cases/{case_id}/form.docx", headers=system.auth())
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    document = docx.Document(io.BytesIO(got.content))
    section = document.sections[0]
    width, height = section.page_width, section.page_height
    assert width is not None and height is not None
    assert abs(width.cm - 21.0) < 0.1 and abs(height.cm - 29.7) < 0.1
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    (table,) = document.tables
    rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
    return paragraphs, rows


async def test_a_xuanen_form_filed_in_time_acknowledges_and_reads_back(system: Running) -> None:
    incident_id = await incident_id_of(system, await submit(system, xuanen_report()))
    case = await case_of(system, incident_id, "xuanen")
    assert (case["level"], case["responsible_body"]["body_id"]) == ("level1", ZHUSHAN)
    draft, rows = await read_docx(system, case["id"])
    assert draft[0] == "草稿" and TITLE in draft
    assert [r[0] for r in rows] == ["项目", *LABELS] and rows[0][1] == "内容"
    assert "珠山镇" in rows[3][1] and "30人" in rows[3][1] and "45万元" in rows[3][1]
    assert "建筑业" in rows[8][1]
    assert "王二" not in str(draft + rows) and "13900139000" not in str(draft + rows)

    township = await responder(system, ZHUSHAN)
    url = f"/v1/cases/{case['id']}/form"
    missing = {k: v for k, v in a_form().items() if k != "cause_analysis"}
    bad = assert_problem(await system.client.put(url, json=missing, headers=township), 422)
    assert "cause_analysis" in str(bad["errors"])
    county = await responder(system, COUNTY)
    assert_problem(await system.client.put(url, json=a_form(), headers=county), 403)
    filed = await system.client.put(url, json=a_form(), headers=township)
    assert filed.status_code == 200, filed.text
    form = filed.json()["form"]
    assert form["on_time"] is True and form["level"] == "level1"
    assert form["send_to"] == [{"body_id": COUNTY, "name": "县协调劳动关系三方机制"}]

    await _the_township_acknowledged_by_form(system, incident_id)
    await _the_county_got_the_form(system, incident_id, case["id"])
    again = await system.client.put(
        url, json=a_form(next_plan="第二次报送：复工复产"), headers=township
    )
    assert again.json()["form"]["next_plan"] == "第二次报送：复工复产"
    assert again.json()["form"]["on_time"] is True
    await _both_filings_in_the_timeline(system, incident_id)
    paragraphs, rows = await read_docx(system, case["id"])
    _check_filed(paragraphs, rows, next_plan="第二次报送：复工复产")


def _check_filed(paragraphs: list[str], rows: list[list[str]], *, next_plan: str) -> None:
    assert "草稿" not in paragraphs and paragraphs[0] == TITLE
    assert "报告单位：珠山镇协调劳动关系三方机制（盖章）" in paragraphs
    (when,) = [p for p in paragraphs if p.startswith("填报时间：")]
    assert "年" in when and "月" in when and when.endswith("日") and "20" in when
    values = dict(rows[1:])
    assert values["预警级别"] == "一级预警" and values["预警企业名称"].startswith("宣恩")
    assert values["原因分析"] == a_form()["cause_analysis"]
    assert values["当前事态状况及发展趋势预测"] == a_form()["situation_trend"]
    assert values["已采取措施及成效"] == a_form()["measures_effect"]
    assert values["下一步工作方案"] == next_plan
    assert "珠山镇" in values["预警信息（时间、地点、起因、诉求和规模）"]
    assert "统一社会信用代码" in values["企业相关资料信息"]
    assert "负责人：张三" in paragraphs and "填报人：赵六" in paragraphs
    assert "联系电话：0718-1234567" in paragraphs
    assert "王二" not in str(paragraphs + rows) and "13900139000" not in str(paragraphs + rows)


async def _the_township_acknowledged_by_form(system: Running, incident_id: str) -> None:
    async def acknowledged() -> dict[str, Any] | None:
        items = await notifications(system, incident_id)
        mine = [n for n in items if n["body_id"] == ZHUSHAN and n["kind"] == "responsible"]
        return mine[0] if mine and mine[0]["status"] == "acknowledged" else None

    n = await eventually(acknowledged)
    assert n["acknowledgement"]["via"] == "form" and n["late"] is False


async def _the_county_got_the_form(system: Running, incident_id: str, case_id: str) -> None:
    async def sent() -> list[Any] | None:
        async with system.runtime.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(Notification).where(
                        Notification.incident_id == incident_id, Notification.body_id == COUNTY
                    )
                )
            )
        forms = [r for r in rows if "case_message" in r.summary]
        return forms or None

    (form,) = await eventually(sent)
    assert form.kind == "copy"
    assert form.summary["case_message"]["form_url"].endswith(f"/v1/cases/{case_id}/form.docx")
    assert "预警信息情况表" in form.summary["case_message"]["text"]
    # People open the case's page in the console (they sign in there); the text links it.
    message = form.summary["case_message"]
    assert message["case_page"].endswith(f"/console/cases/{case_id}")
    assert message["case_page"] in message["text"]


async def _both_filings_in_the_timeline(system: Running, incident_id: str) -> None:
    async def twice() -> list[str] | None:
        kinds = [e["kind"] for e in (await incident(system, incident_id))["timeline"]]
        return kinds if kinds.count("case_form_filed") == 2 else None

    await eventually(twice)


async def test_a_form_filed_after_the_deadline_is_late(sqlite_url: str) -> None:
    settings = make_settings(
        database_url=sqlite_url, time_scale=LEVEL1_IN_1S, deadline_poll_seconds=0.05
    )
    async with running(settings) as drill:
        await filed_late(drill)


async def filed_late(drill: Running) -> None:
    """In a drill where 6 h last 1 s: wait past the deadline, file, and find it late."""
    incident_id = await incident_id_of(drill, await submit(drill, xuanen_report()))
    case = await case_of(drill, incident_id, "xuanen")

    async def overdue() -> bool:
        items = await notifications(drill, incident_id)
        return any(n["body_id"] == ZHUSHAN and n["status"] == "overdue" for n in items)

    await eventually(overdue, timeout=10)
    filed = await drill.client.put(
        f"/v1/cases/{case['id']}/form", json=a_form(), headers=await responder(drill, ZHUSHAN)
    )
    assert filed.status_code == 200, filed.text
    assert filed.json()["form"]["on_time"] is False

    async def late() -> dict[str, Any] | None:
        items = await notifications(drill, incident_id)
        mine = [n for n in items if n["body_id"] == ZHUSHAN and n["kind"] == "responsible"]
        return mine[0] if mine[0]["status"] == "acknowledged" else None

    n = await eventually(late)
    assert n["late"] is True and n["acknowledgement"]["via"] == "form"


async def test_who_reads_a_case_follows_the_access_rule(system: Running) -> None:
    incident_id = await incident_id_of(system, await submit(system, xuanen_report()))
    case = await case_of(system, incident_id, "xuanen")
    url = f"/v1/cases/{case['id']}"
    township, other = await responder(system, ZHUSHAN), await responder(system, JIAOYUAN)
    assert (await system.client.get(url, headers=township)).status_code == 200
    assert_problem(await system.client.get(url, headers=other), 403)
    assert_problem(await system.client.get(f"{url}/form.docx", headers=other), 403)

    async def ids(headers: dict[str, str], **params: str) -> set[str]:
        got = await system.client.get(
            "/v1/cases", params=params | {"limit": "500"}, headers=headers
        )
        assert got.status_code == 200, got.text
        return {c["id"] for c in got.json()["items"]}

    assert case["id"] in await ids(township) and case["id"] not in await ids(other)
    assert case["id"] in await ids(system.auth("analyst_xuanen"), status="open")
    assert case["id"] not in await ids(system.auth("analyst"))
    forbidden = await system.client.get(
        "/v1/cases", params={"jurisdiction": "xuanen"}, headers=system.auth("analyst")
    )
    assert_problem(forbidden, 403)
    assert case["id"] in await ids(system.auth(), body_id=ZHUSHAN, level="level1")
    assert case["id"] not in await ids(system.auth(), body_id=COUNTY)

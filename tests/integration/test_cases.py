"""Cases (处置) from warning to closure, on SQLite and on PostgreSQL (in-process bus): a
Changchun red case (plan → the director's approval → progress → reports to the city
government before, during and after → close → a later report opens a new incident), who may
act, illegal steps, races, retries, and Keep #2481."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from libs.common.bus import Outgoing
from libs.common.events import CASE, INCIDENT_WARNING
from libs.common.tables import BusMessage
from services.cases.tables import steps as steps_table
from tests.conftest import Running, a_report, assert_problem, eventually, submit
from tests.integration.casework import (
    CITY,
    DIRECTOR,
    INSPECTION,
    LEADING_GROUP,
    case_of,
    incident,
    incident_id_of,
    notifications,
    red_report,
    responder,
)

PLAN = {
    "summary": "成立应急处置小组，约谈企业负责人（联系人手机13912345678）",
    "measures": ["约谈企业法定代表人", "劳动保障监察立案调查"],
    "handling_unit": INSPECTION,
    "lead": "王五",
    "phone": "13912345678",
}


async def red_case(system: Running, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """A red warning's incident and its case."""
    incident_id = await incident_id_of(system, await submit(system, red_report(name)))
    return incident_id, await case_of(system, incident_id, "changchun")


async def test_a_changchun_red_case_walks_from_warning_to_closure(system: Running) -> None:
    c, lw = system.client, system
    name = "长春红色预警测试建筑劳务有限公司"
    incident_id, case = await red_case(lw, name)
    assert (case["level"], case["status"]) == ("red", "open")
    assert case["responsible_body"]["body_id"] == LEADING_GROUP
    url = f"/v1/cases/{case['id']}"
    group, director = await responder(lw, LEADING_GROUP), await responder(lw, DIRECTOR)
    unit = await responder(lw, INSPECTION)

    early = assert_problem(
        await c.post(f"{url}/approval", json={"decision": "approve"}, headers=director), 409
    )
    assert "allowed now: plan" in early["detail"] and "approval" not in early["allowed_steps"]
    before = {"stage": "before", "content": "某公司拖欠60名职工工资，已启动一级红色预警。"}
    assert (
        await c.post(f"{url}/government-reports", json=before, headers=group)
    ).status_code == 201
    assert_problem(await c.put(f"{url}/plan", json=PLAN, headers=lw.auth("responder")), 403)

    planned = await c.put(f"{url}/plan", json=PLAN, headers=group)
    assert planned.status_code == 200, planned.text
    assert planned.json()["status"] == "awaiting_approval"
    assert planned.json()["plan"]["phone"] == "139****5678"
    assert "13912345678" not in planned.text
    during = {"stage": "during", "content": "处置预案：约谈企业，督促清偿。"}
    assert_problem(await c.post(f"{url}/government-reports", json=during, headers=group), 409)
    assert_problem(
        await c.post(f"{url}/close", json={"resolution": "resolved"}, headers=group), 409
    )
    assert_problem(
        await c.post(f"{url}/approval", json={"decision": "approve"}, headers=group), 403
    )
    approved = await c.post(
        f"{url}/approval", json={"decision": "approve", "note": "同意"}, headers=director
    )
    assert approved.json()["status"] == "responding", approved.text

    progress = {"measures_taken": "监察支队已进驻企业", "effect": "职工情绪稳定"}
    assert (await c.post(f"{url}/progress", json=progress, headers=unit)).status_code == 201
    assert (
        await c.post(f"{url}/government-reports", json=during, headers=group)
    ).status_code == 201
    after = {"stage": "after", "content": "工资已全部结清。"}
    assert_problem(await c.post(f"{url}/government-reports", json=after, headers=group), 409)
    closed = await c.post(
        f"{url}/close", json={"resolution": "resolved", "outcome": "已结清"}, headers=group
    )
    assert closed.json()["status"] == "closed", closed.text
    assert_problem(await c.post(f"{url}/progress", json=progress, headers=unit), 409)
    assert (await c.post(f"{url}/government-reports", json=after, headers=group)).status_code == 201

    await _the_incident_closed_with_every_step(lw, incident_id, case["id"])
    await _the_city_government_was_told_three_times(lw, incident_id)
    later = await incident_id_of(lw, await submit(lw, red_report(name)))
    assert later != incident_id


async def _the_incident_closed_with_every_step(lw: Running, incident_id: str, case_id: str) -> None:
    async def closed() -> dict[str, Any] | None:
        found = await incident(lw, incident_id)
        kinds = [e["kind"] for e in found["timeline"]]
        return found if found["status"] == "closed" and "case_closed" in kinds else None

    found = await eventually(closed)
    assert found["case_id"] == case_id and found["timeline_intact"] is True
    kinds = [e["kind"] for e in found["timeline"]]
    for kind in (
        "case_opened",
        "case_plan_submitted",
        "case_approved",
        "case_progress",
        "case_closed",
    ):
        assert kind in kinds, kinds
    assert kinds.count("case_government_report") >= 2
    assert "13912345678" not in str(found["timeline"])

    async def none_pending() -> list[dict[str, Any]] | None:
        items = await notifications(lw, incident_id)
        red = [n for n in items if n["kind"] == "responsible" and n["level"] == "red"]
        return items if red and all(n["status"] != "pending" for n in red) else None

    items = await eventually(none_pending)
    red = [n for n in items if n["kind"] == "responsible" and n["level"] == "red"]
    assert {n["closed_reason"] for n in red if n["status"] == "closed"} <= {"case_closed"}


async def _the_city_government_was_told_three_times(lw: Running, incident_id: str) -> None:
    async def told() -> list[dict[str, Any]] | None:
        items = [n for n in await notifications(lw, incident_id) if n["body_id"] == CITY]
        return items if len(items) >= 3 else None

    items = await eventually(told)
    assert len(items) == 3 and {n["kind"] for n in items} == {"copy"}


async def test_keep_2481_closed_incident_absorbs_no_report(system: Running) -> None:
    name = "长春二四八一号建筑劳务有限公司"
    blue = a_report(workers_involved=12, enterprise={"name": name})
    first = await incident_id_of(system, await submit(system, blue))
    case = await case_of(system, first, "changchun")
    shut = await system.client.post(
        f"/v1/cases/{case['id']}/close", json={"resolution": "no_risk"}, headers=system.auth()
    )
    assert shut.status_code == 200, shut.text

    async def closed() -> bool:
        return bool((await incident(system, first))["status"] == "closed")

    await eventually(closed)
    second = await incident_id_of(system, await submit(system, blue))
    assert second != first
    assert first not in str((await incident(system, second))["report_ids"])
    assert len((await incident(system, first))["report_ids"]) == 1


async def test_two_decisions_at_once_one_wins_the_other_is_409(system: Running) -> None:
    _, case = await red_case(system)
    url = f"/v1/cases/{case['id']}"
    group, director = await responder(system, LEADING_GROUP), await responder(system, DIRECTOR)
    assert (await system.client.put(f"{url}/plan", json=PLAN, headers=group)).status_code == 200
    answers = await asyncio.gather(
        system.client.post(f"{url}/approval", json={"decision": "approve"}, headers=director),
        system.client.post(f"{url}/approval", json={"decision": "return"}, headers=director),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    won = next(a for a in answers if a.status_code == 200).json()
    now = (await system.client.get(url, headers=system.auth())).json()
    assert now["status"] == won["status"] and now["approval"] == won["approval"]


async def test_a_retried_step_is_done_once_and_bad_input_is_422(system: Running) -> None:
    _, case = await red_case(system)
    url = f"/v1/cases/{case['id']}"
    headers = system.auth() | {"Idempotency-Key": "progress-1"}
    body = {"measures_taken": "已电话联系企业"}
    first = await system.client.post(f"{url}/progress", json=body, headers=headers)
    again = await system.client.post(f"{url}/progress", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and len(again.json()["progress"]) == 1
    bad = assert_problem(await system.client.post(f"{url}/progress", json={}, headers=headers), 422)
    assert "measures_taken" in str(bad["errors"])
    nul = await system.client.post(
        f"{url}/progress", json={"measures_taken": "a\x00b"}, headers=system.auth()
    )
    assert "measures_taken" in str(assert_problem(nul, 422)["errors"])
    long = await system.client.post(
        f"{url}/progress", json={"measures_taken": "长" * 4001}, headers=system.auth()
    )
    assert_problem(long, 422)
    unknown = await system.client.put(
        f"{url}/plan",
        json=PLAN | {"handling_unit": "xuanen.county.tripartite"},
        headers=system.auth(),
    )
    assert "handling_unit" in assert_problem(unknown, 422)["detail"]
    assert_problem(await system.client.get("/v1/cases/nope", headers=system.auth()), 404)
    assert_problem(await system.client.get(url, headers=system.auth("reporter")), 403)
    listed = await system.client.get("/v1/cases", params={"status": "nope"}, headers=system.auth())
    assert_problem(listed, 422)


async def test_events_delivered_again_change_nothing(system: Running) -> None:
    incident_id, case = await red_case(system)
    url = f"/v1/cases/{case['id']}"
    group = await responder(system, LEADING_GROUP)
    assert (await system.client.put(f"{url}/plan", json=PLAN, headers=group)).status_code == 200
    steps = await _steps_once_in_timeline(system, incident_id, "case_plan_submitted")
    async with system.runtime.sessionmaker() as session:
        rows = list(await session.scalars(select(BusMessage).order_by(BusMessage.id)))
    again = [
        Outgoing(row.topic, row.key, row.payload)
        for row in rows
        if row.topic in (CASE, INCIDENT_WARNING) and incident_id.encode() in row.payload
    ]
    assert {m.topic for m in again} == {CASE, INCIDENT_WARNING}
    await system.runtime.bus.publish(again)
    sentinel = {"measures_taken": "哨兵：重投之后的第一步"}
    assert (await system.client.post(f"{url}/progress", json=sentinel, headers=group)).status_code
    await _steps_once_in_timeline(system, incident_id, "case_progress")
    await asyncio.sleep(0.5)
    found = await incident(system, incident_id)
    kinds = [e["kind"] for e in found["timeline"]]
    assert kinds[: len(steps)] == steps and kinds.count("case_opened") == 1
    assert kinds.count("case_plan_submitted") == 1 and found["timeline_intact"]
    now = (await system.client.get(url, headers=system.auth())).json()
    assert now["status"] == "awaiting_approval" and len(now["progress"]) == 1
    async with system.runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(steps_table).where(steps_table.c.case_id == case["id"])
        )
    assert count == 3  # opened, plan, progress


async def _steps_once_in_timeline(system: Running, incident_id: str, kind: str) -> list[str]:
    async def there() -> list[str] | None:
        kinds = [e["kind"] for e in (await incident(system, incident_id))["timeline"]]
        return kinds if kind in kinds else None

    return await eventually(there)  # type: ignore[no-any-return]

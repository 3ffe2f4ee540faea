"""Helpers of the cases tests: reports that make a warning, responders' keys, a case waited for."""

from __future__ import annotations

import uuid
from typing import Any

from libs.common.auth import Role, create_key
from tests.conftest import Running, a_report, eventually

LEADING_GROUP = "changchun.leading_group"
DIRECTOR = "changchun.director"
CITY = "changchun.city_government"
INSPECTION = "changchun.member.labor_inspection"
ZHUSHAN = "xuanen.zhushan.tripartite"
JIAOYUAN = "xuanen.jiaoyuan.tripartite"
COUNTY = "xuanen.county.tripartite"
# Drill scale: Xuan'en level1 (6 h) lasts 1 s.
LEVEL1_IN_1S = 21600


def red_report(name: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A Changchun report that makes a red warning (60 workers), with a reporter."""
    return (
        a_report(
            workers_involved=60,
            enterprise={"name": name or f"长春{uuid.uuid4().hex[:6]}建筑劳务有限公司"},
            reporter={"name": "李四", "phone": "13800138000"},
            summary="李四（电话13800138000）反映公司拖欠工资",
        )
        | overrides
    )


def xuanen_report(**overrides: Any) -> dict[str, Any]:
    """A Xuan'en report that makes a level1 warning, routed to 珠山镇."""
    return (
        a_report(
            jurisdiction="xuanen",
            region="zhushan",
            enterprise={
                "name": f"宣恩{uuid.uuid4().hex[:6]}建筑劳务有限公司",
                "credit_code": None,
                "industry": "建筑业",
            },
            workers_involved=30,
            amount_yuan="450000",
            collective_action="possible",
            reporter={"name": "王二", "phone": "13900139000"},
        )
        | overrides
    )


def a_form(**overrides: Any) -> dict[str, Any]:
    """A filled warning-information form."""
    return {
        "reporting_unit": "珠山镇协调劳动关系三方机制",
        "cause_analysis": "企业资金链断裂，拖欠工资三个月",
        "situation_trend": "职工情绪激动，存在集体上访可能",
        "measures_effect": "已约谈企业负责人，职工情绪基本稳定",
        "next_plan": "督促企业制定清偿计划，跟踪落实",
        "responsible_person": "张三",
        "filer": "赵六",
        "phone": "0718-1234567",
    } | overrides


async def responder(system: Running, body_id: str) -> dict[str, str]:
    """Headers of a new responder key for a body."""
    _, key = await create_key(
        system.runtime.sessionmaker,
        system.runtime.registry,
        name=f"responder {body_id}",
        role=Role.RESPONDER,
        body_id=body_id,
    )
    return {"Authorization": f"Bearer {key}"}


async def incident_id_of(system: Running, report_id: str) -> str:
    """Wait until grading has placed a report; return its incident's id."""

    async def placed() -> str | None:
        got = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
        assert got.status_code == 200, got.text
        return got.json()["incident_id"]  # type: ignore[no-any-return]

    return str(await eventually(placed))


async def case_of(system: Running, incident_id: str, jurisdiction: str) -> dict[str, Any]:
    """Wait for an incident's case (admin view)."""

    async def found() -> dict[str, Any] | None:
        got = await system.client.get(
            "/v1/cases", params={"jurisdiction": jurisdiction, "limit": 500}, headers=system.auth()
        )
        assert got.status_code == 200, got.text
        return next((c for c in got.json()["items"] if c["incident_id"] == incident_id), None)

    return await eventually(found)  # type: ignore[no-any-return]


async def incident(system: Running, incident_id: str) -> dict[str, Any]:
    """An incident with its timeline (admin view)."""
    got = await system.client.get(f"/v1/incidents/{incident_id}", headers=system.auth())
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


async def notifications(system: Running, incident_id: str) -> list[dict[str, Any]]:
    """The notifications of an incident (admin view)."""
    got = await system.client.get(
        "/v1/notifications",
        params={"incident_id": incident_id, "limit": 500},
        headers=system.auth(),
    )
    assert got.status_code == 200, got.text
    return got.json()["items"]  # type: ignore[no-any-return]

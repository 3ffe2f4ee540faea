"""Cases over the Kafka-protocol broker on PostgreSQL, each service an app of its own (intake,
grading, notifier, cases), learning of the others only from the broker: the Changchun red walk
to closure and a new incident after it, and Xuan'en forms filed on time and late."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Broker, Running, eventually, make_settings, running, submit
from tests.integration.casework import (
    CITY,
    DIRECTOR,
    LEADING_GROUP,
    LEVEL1_IN_1S,
    ZHUSHAN,
    a_form,
    case_of,
    incident,
    incident_id_of,
    notifications,
    red_report,
    responder,
    xuanen_report,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@dataclass
class Apps:
    """The four services, each its own app over the broker."""

    intake: Running
    grading: Running
    notifier: Running
    cases: Running


@contextlib.asynccontextmanager
async def apps(pg_url: str, broker: Broker, **settings: Any) -> AsyncIterator[Apps]:
    made = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap, **settings)
    async with contextlib.AsyncExitStack() as stack:
        each = [
            await stack.enter_async_context(running(made, services=name))
            for name in ("intake", "grading", "notifier", "cases")
        ]
        for app in each:  # each start empties the tables: the last one's keys stand
            app.keys = each[-1].keys
        yield Apps(*each)


async def test_a_red_case_walks_to_closure_and_a_form_is_on_time_over_kafka(
    pg_url: str, broker: Broker
) -> None:
    async with apps(pg_url, broker) as s:
        name = "长春卡夫卡建筑劳务有限公司"
        incident_id = await incident_id_of(s.intake, await submit(s.intake, red_report(name)))
        case = await case_of(s.cases, incident_id, "changchun")
        url = f"/v1/cases/{case['id']}"
        c = s.cases.client
        group, director = (
            await responder(s.cases, LEADING_GROUP),
            await responder(s.cases, DIRECTOR),
        )
        plan = {
            "summary": "约谈企业",
            "measures": ["约谈"],
            "lead": "王五",
            "phone": "0431-1234567",
        }
        steps = [
            ("post", "government-reports", {"stage": "before", "content": "事前"}, group),
            ("put", "plan", plan, group),
            ("post", "approval", {"decision": "approve"}, director),
            ("post", "progress", {"measures_taken": "已进驻"}, group),
            ("post", "government-reports", {"stage": "during", "content": "事中"}, group),
            ("post", "close", {"resolution": "resolved"}, group),
            ("post", "government-reports", {"stage": "after", "content": "事后"}, group),
        ]
        for method, path, body, headers in steps:
            answer = await c.request(method.upper(), f"{url}/{path}", json=body, headers=headers)
            assert answer.status_code in (200, 201), (path, answer.text)

        async def closed() -> dict[str, Any] | None:
            found = await incident(s.grading, incident_id)
            return found if found["status"] == "closed" else None

        found = await eventually(closed, timeout=30)
        assert found["case_id"] == case["id"] and found["timeline_intact"]

        async def told() -> bool:
            items = await notifications(s.notifier, incident_id)
            return len([n for n in items if n["body_id"] == CITY]) == 3

        await eventually(told, timeout=30)
        later = await incident_id_of(s.intake, await submit(s.intake, red_report(name)))
        assert later != incident_id
        await _xuanen_form(s, late=False)


async def test_a_form_filed_late_is_late_over_kafka(pg_url: str, broker: Broker) -> None:
    async with apps(pg_url, broker, time_scale=LEVEL1_IN_1S, deadline_poll_seconds=0.05) as s:
        await _xuanen_form(s, late=True)


async def _xuanen_form(s: Apps, *, late: bool) -> None:
    incident_id = await incident_id_of(s.intake, await submit(s.intake, xuanen_report()))
    case = await case_of(s.cases, incident_id, "xuanen")

    async def mine(status: str) -> dict[str, Any] | None:
        items = await notifications(s.notifier, incident_id)
        found = [n for n in items if n["body_id"] == ZHUSHAN and n["kind"] == "responsible"]
        return found[0] if found and found[0]["status"] == status else None

    await eventually(lambda: mine("overdue" if late else "pending"), timeout=30)
    filed = await s.cases.client.put(
        f"/v1/cases/{case['id']}/form", json=a_form(), headers=await responder(s.cases, ZHUSHAN)
    )
    assert filed.status_code == 200, filed.text
    assert filed.json()["form"]["on_time"] is (not late)
    n = await eventually(lambda: mine("acknowledged"), timeout=30)
    assert n["acknowledgement"]["via"] == "form" and n["late"] is late

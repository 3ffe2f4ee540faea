"""Bad input answers 4xx, never 500, on SQLite and on PostgreSQL (issue 12, "Bad input"):
NUL in any path id, query value or stored text; times at the edge of the calendar; a hotline
caller's phone as the platform passes it on."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from services.intake.tables import Report
from tests.conftest import Running, assert_problem
from tests.integration.test_hotline_webhook import HOOK, an_order, signed
from tests.integration.test_reports_api import a_report

EDGE = "0001-01-01T00:00:00+14:00"

NUL_PROBES: list[tuple[str, str, dict[str, Any] | None, list[Any]]] = [
    ("GET", "/v1/reports/%00", None, ["path", "report_id"]),
    ("GET", "/v1/incidents/%00", None, ["path", "incident_id"]),
    ("GET", "/v1/incidents?jurisdiction=%00", None, ["query", "jurisdiction"]),
    ("GET", "/v1/incidents?region=%00", None, ["query", "region"]),
    ("GET", "/v1/incidents?level=%00", None, ["query", "level"]),
    ("GET", "/v1/notifications?body_id=%00", None, ["query", "body_id"]),
    ("GET", "/v1/notifications?incident_id=%00", None, ["query", "incident_id"]),
    ("GET", "/v1/reports?jurisdiction=%00", None, ["query", "jurisdiction"]),
    ("POST", "/v1/notifications/%00/ack", {}, ["path", "notification_id"]),
    ("GET", "/v1/bodies/%00/channels", None, ["path", "body_id"]),
    ("POST", "/v1/notifications/x/ack", {"note": "收到\u0000"}, ["body", "note"]),
    (
        "POST",
        "/v1/incidents/x/assessment",
        {"level": None, "reason": "a\u0000b"},
        ["body", "reason"],
    ),
    (
        "PUT",
        "/v1/bodies/changchun.director/channels",
        {"channels": [{"type": "webhook", "target": "https://example.org/\u0000"}]},
        ["body", "channels", 0, "target"],
    ),
    ("POST", "/v1/reports", a_report(summary="拖欠\u0000工资"), ["body", "summary"]),
]


@pytest.mark.parametrize(("method", "url", "body", "loc"), NUL_PROBES)
async def test_nul_is_refused_naming_the_field(
    system: Running, method: str, url: str, body: dict[str, Any] | None, loc: list[Any]
) -> None:
    r = await system.client.request(method, url, json=body, headers=system.auth())
    problem = assert_problem(r, 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem


async def test_nul_in_a_form_body_is_refused(system: Running) -> None:
    r = await system.client.post(
        "/ack/some-token",
        content=b"note=%00",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(r, 422)


async def test_a_report_on_the_edge_of_the_calendar_is_422(system: Running) -> None:
    for edge in (EDGE, "9999-12-31T23:59:59-14:00", "9999-12-31T23:00:00+00:00"):
        r = await system.client.post(
            "/v1/reports", json=a_report(occurred_at=edge), headers=system.auth("reporter")
        )
        problem = assert_problem(r, 422)
        assert ["body", "occurred_at"] in [e["loc"] for e in problem["errors"]]


async def test_a_work_order_on_the_edge_of_the_calendar_is_422(system: Running) -> None:
    body = orjson.dumps(an_order(received_at=EDGE)).decode()
    r = await system.client.post(HOOK, content=body, headers=signed(body))
    problem = assert_problem(r, 422)
    assert ["body", "received_at"] in [e["loc"] for e in problem["errors"]]


@pytest.mark.parametrize("phone", ["匿名", "", "0431-88886666转123"])
async def test_a_work_order_keeps_what_the_caller_gave_as_a_phone(
    system: Running, phone: str
) -> None:
    body = orjson.dumps(an_order(caller={"name": "张三丰", "phone": phone})).decode()
    r = await system.client.post(HOOK, content=body, headers=signed(body))
    assert r.status_code == 202, r.text
    report_id = r.json()["report_id"]
    async with system.runtime.sessionmaker() as session:
        sealed = await session.scalar(select(Report.reporter_sealed).where(Report.id == report_id))
    assert sealed is not None
    assert not phone or phone not in sealed
    revealed = await system.client.post(
        f"/v1/reports/{report_id}/reveal", json={"reason": "回访"}, headers=system.auth()
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["reporter"]["phone"] == phone

"""Monitored enterprises over HTTP, on the embedded default and on PostgreSQL: the register,
uploads whole or not at all, alerts once, and each alert filed as one report and graded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from libs.common.auth import Role, create_key
from services.intake.tables import Report
from services.monitoring.tables import enterprise_history, observations
from tests.conftest import Running, assert_problem, eventually
from tests.integration.monitoring_support import (
    clear_monitoring,
    code,
    month,
    register,
    row,
    upload,
)

HISTORY = [300, 310, 290, 300, 320, 280]  # six months: median 300, MAD 10


@pytest.fixture
async def system(system: Running) -> Running:
    """The module's app (embedded, then PostgreSQL) with monitoring's tables emptied too."""
    await clear_monitoring(system)
    return system


async def test_the_register_is_kept_by_its_jurisdictions_analyst(system: Running) -> None:
    c = code(1)
    body = {
        "name": "长春某公司",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "reason": "new_economy",
    }
    url = f"/v1/monitoring/enterprises/{c}"
    r = await system.client.put(url, json=body, headers=system.auth("analyst"))
    assert r.status_code == 201, r.text
    r = await system.client.put(url, json=body | {"headcount": 80}, headers=system.auth("analyst"))
    assert r.status_code == 200 and r.json()["headcount"] == 80
    for role in ("analyst_xuanen", "reporter"):
        assert_problem(await system.client.put(url, json=body, headers=system.auth(role)), 403)
    bad = body | {"region": "zhushan"}
    assert_problem(await system.client.put(url, json=bad, headers=system.auth("analyst")), 422)
    assert_problem(await system.client.get(url, headers=system.auth("analyst_xuanen")), 403)
    assert (await system.client.delete(url, headers=system.auth("analyst"))).status_code == 204
    listed = await system.client.get(
        "/v1/monitoring/enterprises?ended=true", headers=system.auth("analyst")
    )
    assert [e["monitored"] for e in listed.json()["items"]] == [False]
    gone = await system.client.get("/v1/monitoring/enterprises", headers=system.auth("analyst"))
    assert gone.json()["items"] == []
    async with system.runtime.sessionmaker() as s:
        actions = (await s.scalars(select(enterprise_history.c.action))).all()
    assert sorted(actions) == ["changed", "ended", "registered"]
    r = await upload(system, [row(c, month(1))])
    assert_problem(r, 422)


async def test_an_alert_becomes_one_graded_report_whatever_is_resent(system: Running) -> None:
    c = code(2)
    await register(system, c)
    past = [row(c, month(8 - i), headcount=h) for i, h in enumerate(HISTORY)]
    r = await upload(system, past)
    assert r.status_code == 202 and r.json() == {"accepted": 6, "alerts": []}
    bad = row(c, month(1), headcount=150, social_insurance_arrears_months=3)
    r = await upload(system, [bad])
    assert r.status_code == 202, r.text
    alerts = {(a["indicator"], a["kind"]): a for a in r.json()["alerts"]}
    assert set(alerts) == {
        ("headcount", "anomaly"),  # 150 against a median of 300
        ("social_insurance_arrears_months", "threshold"),  # 3 months
        ("social_insurance_arrears_months", "anomaly"),  # 0 for six months, then 3
    }
    assert alerts["social_insurance_arrears_months", "threshold"]["reasons_zh"] == [
        "社保欠缴月数 3 ≥ 3"
    ]
    arrears = alerts["social_insurance_arrears_months", "threshold"]
    drop = alerts["headcount", "anomaly"]

    async def filed() -> Any:
        got = await system.client.get(
            f"/v1/monitoring/alerts?credit_code={c}", headers=system.auth("analyst")
        )
        items = got.json()["items"]
        return items if items and all(a["report_id"] for a in items) else None

    items = await eventually(filed)
    paged, cursor = [], ""
    while cursor is not None:
        got = await system.client.get(
            f"/v1/monitoring/alerts?credit_code={c}&limit=2&cursor={cursor}"
            if cursor
            else f"/v1/monitoring/alerts?credit_code={c}&limit=2",
            headers=system.auth("analyst"),
        )
        paged += [a["id"] for a in got.json()["items"]]
        cursor = got.json()["next_cursor"]
    assert paged == [a["id"] for a in items] and len(paged) == 3
    report_id = next(a["report_id"] for a in items if a["id"] == arrears["id"])
    report = (await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())).json()
    assert report["source"] == "monitoring" and report["source_ref"] == arrears["id"]
    assert report["category"] == "social_insurance" and report["workers_involved"] == 150
    assert report["enterprise"]["credit_code"] == c

    async def graded() -> Any:
        got = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
        return got.json()["incident_id"]

    # Social insurance is outside changchun-2020's scope: recorded, no level.
    assert (
        await system.client.get(f"/v1/incidents/{await eventually(graded)}", headers=system.auth())
    ).json()["level"] is None
    report_id = next(a["report_id"] for a in items if a["id"] == drop["id"])
    report = (await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())).json()
    assert (report["category"], report["terminations"]) == ("layoff", 150)  # 300 − 150
    incident_id = await eventually(graded)
    incident = (
        await system.client.get(f"/v1/incidents/{incident_id}", headers=system.auth())
    ).json()
    assert incident["level"] == "red"  # 150 terminations ≥ 20 (changchun-2020)
    # Sent again (a revision), nothing is raised or filed twice.
    again = await upload(system, [bad | {"disputes": 0}])
    assert {a["id"] for a in again.json()["alerts"]} == {a["id"] for a in alerts.values()}
    async with system.runtime.sessionmaker() as s:
        revisions = (
            await s.scalars(
                select(observations.c.revision).where(
                    observations.c.credit_code == c, observations.c.period == month(1)
                )
            )
        ).all()
        reports = await s.scalar(
            select(func.count()).select_from(Report).where(Report.source == "monitoring")
        )
    assert sorted(revisions) == [1, 2]
    assert reports == 3


async def test_every_bad_row_and_field_is_named_and_nothing_stored(system: Running) -> None:
    c = code(3)
    await register(system, c)
    rows = [
        row(c, month(2)),
        row(c, month(1), headcount=-1),
        row(c, month(-1)),  # next month has not begun
        row(c, month(3), wages_paid_yuan="2000000.00"),
        row(code(99), month(1)),  # not registered
        row(c, month(2)),  # twice in one upload
        row(c, month(4), layoffs=10**9),
    ]
    body = assert_problem(await upload(system, rows), 422)
    named = {(e["row"], e["field"]) for e in body["errors"]}
    assert named == {
        (2, "headcount"),
        (3, "period"),
        (4, "wages_paid_yuan"),
        (5, "credit_code"),
        (6, "period"),
        (7, "layoffs"),
    }
    async with system.runtime.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(observations)) == 0
    assert_problem(await upload(system, [row(c, month(1))], role="analyst"), 403)


async def test_who_sends_and_who_reads(system: Running) -> None:
    cc, xe = code(4), code(5)
    await register(system, cc)
    await register(system, xe, jurisdiction="xuanen", region="zhushan")
    _, local = await create_key(
        system.runtime.sessionmaker,
        system.runtime.registry,
        name="长春人社",
        role=Role.REPORTER,
        jurisdiction="changchun",
    )
    headers = {"Authorization": f"Bearer {local}"}
    rows = {"observations": [row(cc, month(1)), row(xe, month(1))]}
    r = await system.client.post("/v1/monitoring/observations", json=rows, headers=headers)
    body = assert_problem(r, 403)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "credit_code")]
    r = await system.client.post(
        "/v1/monitoring/observations",
        json={"observations": rows["observations"][:1]},
        headers=headers | {"Idempotency-Key": "cc-1"},
    )
    assert r.status_code == 202, r.text
    replay = await system.client.post(
        "/v1/monitoring/observations",
        json={"observations": rows["observations"][:1]},
        headers=headers | {"Idempotency-Key": "cc-1"},
    )
    assert replay.status_code == 202 and replay.json() == r.json()
    other = await system.client.post(
        "/v1/monitoring/observations",
        json={"observations": rows["observations"][1:]},
        headers=headers | {"Idempotency-Key": "cc-1"},
    )
    assert_problem(other, 409)
    detail = await system.client.get(
        f"/v1/monitoring/enterprises/{cc}", headers=system.auth("responder")
    )
    assert detail.status_code == 200, detail.text
    assert [o["revision"] for o in detail.json()["observations"]] == [1]  # the replay stored none
    township = await create_key(
        system.runtime.sessionmaker,
        system.runtime.registry,
        name="珠山",
        role=Role.RESPONDER,
        body_id="xuanen.zhushan.tripartite",
    )
    r = await system.client.get(
        "/v1/monitoring/alerts", headers={"Authorization": f"Bearer {township[1]}"}
    )
    assert_problem(r, 403)
    r = await system.client.get(
        "/v1/monitoring/alerts?jurisdiction=xuanen", headers=system.auth("analyst")
    )
    assert_problem(r, 403)

"""What becomes of a report (fix 7), who reads it (fix 12), calling its reporter back and the
retention of personal data (fix 12): grading's events fed through intake's real consumer."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from laborwatch.migrate import upgrade
from libs.common.auth import Principal, Role, create_key
from libs.common.bus import Delivered
from libs.common.contracts import (
    BodyRef,
    EnterpriseRef,
    IncidentData,
    IncidentUpdated,
    IncidentWarning,
    ReportRevealed,
    WarningData,
)
from libs.common.events import INCIDENT_WARNING
from libs.common.runtime import Runtime
from libs.common.tables import BusMessage, IdempotentRequest, OutboxMessage
from services.intake.app import build_intake
from services.intake.consumers import consumers
from services.intake.schemas import ReportIn
from services.intake.tables import Report
from tests.conftest import Running, a_report, assert_problem, eventually, make_settings, running

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
async def shared(module_db: str) -> AsyncIterator[Running]:
    """Intake alone: grading's events here are the tests' own, not a running grading's."""
    async with running(make_settings(database_url=module_db), services="intake") as r:
        yield r


OFFICE = "changchun.leading_group_office"


def incident(
    report_ids: list[str],
    *,
    id_: str | None = None,
    kind: str = "single",
    status: str = "open",
    level: str | None = "yellow",
    routed_to: str | None = OFFICE,
    bodies: list[str] | None = None,
    jurisdiction: str = "changchun",
    closed_at: dt.datetime | None = None,
) -> IncidentData:
    """An incident as grading publishes it."""
    return IncidentData(
        id=id_ or str(uuid.uuid4()),
        jurisdiction=jurisdiction,
        policy="changchun-2020",
        kind=kind,
        status=status,
        level=level,
        level_label={"yellow": "二级黄色预警", "red": "一级红色预警"}.get(level or ""),
        level_rank=2 if level else 0,
        provisional=True,
        reasons=[],
        routed_to=BodyRef(body_id=routed_to, name=routed_to) if routed_to else None,
        issued_at=NOW,
        report_ids=report_ids,
        member_ids=[],
        cluster_id=None,
        corroboration=1,
        sources=["agency"],
        enterprise=EnterpriseRef(name="某公司", credit_code=None, industry=None),
        category="wage_arrears",
        categories=["wage_arrears"],
        region="chaoyang",
        regions=["chaoyang"],
        workers_involved=35,
        amount_yuan=0,
        terminations=0,
        collective_action="none",
        extreme_individual=False,
        potential_major_impact=False,
        opened_at=NOW,
        updated_at=NOW,
        closed_at=closed_at,
        bodies=bodies if bodies is not None else ([routed_to] if routed_to else []),
        drill=False,
    )


def as_event(data: IncidentData, *, warning: bool = True) -> bytes:
    if not warning:
        return IncidentUpdated(incident=data).to_event(subject=data.id, key="k").to_bytes()
    issued = WarningData(
        level=data.level,
        previous_level=None,
        policy=data.policy,
        reasons=[],
        issued_at=NOW,
        drill=False,
    )
    return (
        IncidentWarning(incident=data, warning=issued).to_event(subject=data.id, key="k").to_bytes()
    )


async def grading_says(
    runtime: Runtime, *incidents: IncidentData | tuple[IncidentData, bool]
) -> None:
    """Feed grading's events, as one consumed batch, to intake's consumer."""
    intake = build_intake(runtime)
    runner = runtime.runner(consumers(intake)[0], intake.store.outbox)
    batch = []
    for offset, item in enumerate(incidents):
        data, warning = item if isinstance(item, tuple) else (item, True)
        batch.append(Delivered(INCIDENT_WARNING, "k", as_event(data, warning=warning), 0, offset))
    await runner.process_batch(batch)


async def submit(lw: Running, body: dict[str, Any], role: str = "reporter") -> str:
    r = await lw.client.post("/v1/reports", json=body, headers=lw.auth(role))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def key_of(lw: Running, body_id: str) -> dict[str, str]:
    _, key = await create_key(
        lw.runtime.sessionmaker,
        lw.runtime.registry,
        name=f"{body_id} clerk",
        role=Role.RESPONDER,
        body_id=body_id,
    )
    return {"Authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- fix 7: what became of it


async def test_a_reporter_sees_the_level_and_status_of_its_reports_incident(lw: Running) -> None:
    report_id = await submit(lw, a_report())
    mine = lw.auth("reporter")
    before = (await lw.client.get(f"/v1/reports/{report_id}", headers=mine)).json()
    assert (before["level"], before["level_label"], before["incident_status"]) == (None,) * 3

    raised = incident([report_id])
    await grading_says(lw.runtime, raised)
    got = (await lw.client.get(f"/v1/reports/{report_id}", headers=mine)).json()
    assert got["incident_id"] == raised.id
    assert (got["level"], got["level_label"], got["incident_status"]) == (
        "yellow",
        "二级黄色预警",
        "open",
    )

    closed = incident([report_id], id_=raised.id, level="red", status="closed", closed_at=NOW)
    await grading_says(lw.runtime, (closed, False))
    listed = (await lw.client.get("/v1/reports", headers=mine)).json()["items"]
    assert [(i["id"], i["level"], i["incident_status"]) for i in listed] == [
        (report_id, "red", "closed")
    ]


async def test_in_a_batch_the_later_event_wins_and_a_cluster_moves_no_report(lw: Running) -> None:
    r1, r2, r3 = [await submit(lw, a_report()) for _ in range(3)]
    a, b = incident([r1, r2]), incident([r2, r3], level="red")
    cluster = incident([r1, r2, r3], kind="cluster", level="red")
    await grading_says(lw.runtime, a, cluster, b)
    async with lw.runtime.sessionmaker() as session:
        placed = {
            row.id: (row.incident_id, row.level)
            for row in (await session.execute(select(Report.id, Report.incident_id, Report.level)))
        }
    assert placed == {r1: (a.id, "yellow"), r2: (b.id, "red"), r3: (b.id, "red")}


# ---------------------------------------------------------------- fix 12: who reads what


async def test_a_township_body_reads_its_region_and_what_its_body_was_sent(system: Running) -> None:
    lw = system  # on SQLite, then on PostgreSQL (the lists are narrowed in SQL)
    township = await key_of(lw, "xuanen.zhushan.tripartite")
    xuanen = {"jurisdiction": "xuanen", "region": "gaoluo"}
    here = await submit(lw, a_report(jurisdiction="xuanen", region="zhushan"), "admin")
    spread = await submit(lw, a_report(**xuanen, affected_regions=["gaoluo", "zhushan"]), "admin")
    sent = await submit(lw, a_report(**xuanen), "admin")
    elsewhere = await submit(lw, a_report(**xuanen), "admin")
    await grading_says(
        lw.runtime,
        incident(
            [sent],
            jurisdiction="xuanen",
            routed_to="xuanen.gaoluo.tripartite",
            bodies=["xuanen.gaoluo.tripartite", "xuanen.zhushan.tripartite"],
        ),
        incident([elsewhere], jurisdiction="xuanen", routed_to="xuanen.gaoluo.tripartite"),
    )
    listed = (await lw.client.get("/v1/reports", headers=township)).json()["items"]
    assert {i["id"] for i in listed} == {here, spread, sent}
    for readable in (here, spread, sent):
        assert (await lw.client.get(f"/v1/reports/{readable}", headers=township)).status_code == 200
    assert_problem(await lw.client.get(f"/v1/reports/{elsewhere}", headers=township), 403)


async def test_an_external_body_reads_only_what_it_was_sent(lw: Running) -> None:
    prefecture = await key_of(lw, "xuanen.prefecture.tripartite")
    sent = await submit(lw, a_report(jurisdiction="xuanen", region="zhushan"), "admin")
    other = await submit(lw, a_report(jurisdiction="xuanen", region="zhushan"), "admin")
    await grading_says(
        lw.runtime,
        incident(
            [sent],
            jurisdiction="xuanen",
            routed_to="xuanen.county.tripartite",
            bodies=["xuanen.county.tripartite", "xuanen.prefecture.tripartite"],
        ),
    )
    listed = (await lw.client.get("/v1/reports", headers=prefecture)).json()["items"]
    assert [i["id"] for i in listed] == [sent]
    assert_problem(await lw.client.get(f"/v1/reports/{other}", headers=prefecture), 403)


# ---------------------------------------------------------------- fix 12: calling back


async def reveal(lw: Running, report_id: str, headers: dict[str, str], **body: Any) -> Any:
    return await lw.client.post(
        f"/v1/reports/{report_id}/reveal", json=body or {"reason": "12345 回访"}, headers=headers
    )


async def revealed_events(lw: Running, report_id: str) -> list[dict[str, Any]]:
    async with lw.runtime.sessionmaker() as session:
        rows = list((await session.execute(select(OutboxMessage.payload))).scalars())
        rows += list((await session.execute(select(BusMessage.payload))).scalars())
    events = [orjson.loads(p) for p in rows]
    return [e for e in events if e["type"] == ReportRevealed.type_ and e["subject"] == report_id]


async def test_the_routed_body_calls_back_with_the_phone_in_clear_and_it_is_recorded(
    lw: Running, caplog: pytest.LogCaptureFixture
) -> None:
    body = a_report(reporter={"name": "李四", "phone": "13800138000"})
    report_id = await submit(lw, body)
    office = lw.auth("responder")
    assert_problem(await reveal(lw, report_id, office), 409)  # not routed yet

    await grading_says(lw.runtime, incident([report_id]))
    caplog.set_level(logging.INFO)
    r = await reveal(lw, report_id, office, reason="回访来电人 13912345678")
    assert r.status_code == 200, r.text
    assert r.json()["reporter"] == {"name": "李四", "phone": "13800138000"}
    assert "13800138000" not in caplog.text

    events = await eventually(lambda: revealed_events(lw, report_id))
    assert len(events) == 1
    data = ReportRevealed.model_validate(events[0]["data"])
    assert (data.report_id, data.by) == (report_id, f"responder ({OFFICE})")
    assert data.reason == "回访来电人 139****5678"
    assert "13800138000" not in orjson.dumps(events[0]).decode()


async def test_a_reveal_retried_with_its_key_is_recorded_once_and_not_kept_in_clear(
    lw: Running,
) -> None:
    report_id = await submit(lw, a_report(reporter={"name": "李四", "phone": "13800138000"}))
    headers = lw.auth() | {"Idempotency-Key": f"reveal-{uuid.uuid4()}"}
    first = await reveal(lw, report_id, headers)
    again = await reveal(lw, report_id, headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and again.json()["reporter"]["phone"] == "13800138000"
    assert len(await revealed_events(lw, report_id)) == 1
    assert_problem(await reveal(lw, report_id, headers, reason="另一个理由"), 409)
    async with lw.runtime.sessionmaker() as session:
        kept = list((await session.execute(select(IdempotentRequest.body))).scalars())
    assert kept and all(b is None or b"13800138000" not in b for b in kept)


async def test_only_the_routed_body_or_an_admin_reveals(lw: Running) -> None:
    report_id = await submit(lw, a_report(reporter={"name": "李四", "phone": "13800138000"}))
    other_body = await key_of(lw, "changchun.leading_group")
    for headers in (lw.auth("reporter"), lw.auth("analyst")):
        assert_problem(await reveal(lw, report_id, headers), 403)
    assert_problem(await reveal(lw, report_id, other_body), 409)  # a responder needs a routing
    admin = await reveal(lw, report_id, lw.auth())  # an admin may before any routing
    assert admin.status_code == 200, admin.text
    assert admin.json()["reporter"]["phone"] == "13800138000"
    await grading_says(lw.runtime, incident([report_id], routed_to="changchun.leading_group"))
    assert_problem(await reveal(lw, report_id, lw.auth("responder")), 403)  # routed elsewhere
    assert (await reveal(lw, report_id, other_body)).status_code == 200


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 501}])
async def test_a_reveal_needs_a_reason(lw: Running, body: dict[str, Any]) -> None:
    report_id = await submit(lw, a_report())
    r = await lw.client.post(f"/v1/reports/{report_id}/reveal", json=body, headers=lw.auth())
    assert_problem(r, 422)
    assert await revealed_events(lw, report_id) == []


# ---------------------------------------------------------------- fix 12: retention


@pytest.fixture
def fresh_db(tmp_path: Path) -> str:
    """An embedded database of the test's own, migrated (outside the event loop)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
    upgrade(url)
    return url


async def test_personal_data_is_erased_after_the_retention_by_the_worker(fresh_db: str) -> None:
    url = fresh_db
    # 1e-5 days is 0.86 s: the worker looks every second.
    async with running(
        make_settings(database_url=url, personal_data_retention_days=1e-5), services="intake"
    ) as lw:
        person = {"reporter": {"name": "李四", "phone": "13800138000"}}
        closed = await submit(lw, a_report(**person))
        still_open = await submit(lw, a_report(**person))
        await grading_says(
            lw.runtime,
            incident([closed], status="closed", closed_at=NOW - dt.timedelta(minutes=1)),
            incident([still_open]),
        )

        async def erased() -> bool:
            got = await lw.client.get(f"/v1/reports/{closed}", headers=lw.auth())
            return got.json()["reporter"] is None

        await eventually(erased)
        shown = await reveal(lw, closed, lw.auth())
        assert shown.json()["reporter"] is None
        kept = await reveal(lw, still_open, lw.auth())
        assert kept.json()["reporter"]["phone"] == "13800138000"
        async with lw.runtime.sessionmaker() as session:
            row = await session.get(Report, closed)
        assert row is not None and row.reporter_sealed is None
        assert row.personal_data_erased_at is not None


@pytest.mark.postgres
async def test_the_erasure_works_in_batches_on_postgres(runtime: Runtime) -> None:
    intake = build_intake(runtime)

    admin = Principal(key_id="k", name="t", role=Role.ADMIN, jurisdiction=None, body_id=None)
    body = ReportIn.model_validate(a_report(reporter={"name": "李四", "phone": "13800138000"}))
    ids = [
        (await intake.submit(body, principal=admin, idempotency_key=None, now=NOW)).report["id"]
        for _ in range(3)
    ]
    await grading_says(
        runtime, incident(ids, status="closed", closed_at=NOW - dt.timedelta(days=2))
    )
    later = NOW + dt.timedelta(seconds=1)
    assert await intake.store.erase_personal_data(closed_before=NOW, now=later, batch=2) == 2
    assert await intake.erase_expired(retention_days=1, now=later) == 1
    assert await intake.erase_expired(retention_days=1, now=later) == 0
    async with runtime.sessionmaker() as session:
        left = (await session.execute(select(Report.reporter_sealed))).scalars().all()
    assert left == [None, None, None]

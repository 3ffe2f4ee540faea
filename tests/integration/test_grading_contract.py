"""Grading's part of CONTRACT.md v1.1, "Changes to v1 behaviour": each test failed before."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from libs.common.auth import Role, create_key
from libs.common.bus import Delivered
from libs.common.contracts import NotificationEvent, ReportData, ReportReceived, ReportRevealed
from libs.common.events import INCIDENT_WARNING, NOTIFICATION, REPORT_RECEIVED
from libs.common.runtime import Runtime
from services.grading.audit import verify_chain
from services.grading.consumers import consumers
from services.grading.policy import load_policies
from services.grading.service import Grading
from services.grading.tables import Incident, TimelineEntry
from tests.conftest import (
    Running,
    assert_problem,
    eventually,
    make_settings,
    submit,
    truncate_all,
)
from tests.conftest import a_report as report
from tests.integration.test_grading_flow import incident_of, received, warnings_on_bus

CODE = "91350100M000100Y43"
OTHER_CODE = "91110000600037341L"


async def key_of(system: Running, body_id: str) -> dict[str, str]:
    """Headers of a new responder key of a body."""
    _, key = await create_key(
        system.runtime.sessionmaker,
        system.runtime.registry,
        name=f"{body_id}-key",
        role=Role.RESPONDER,
        body_id=body_id,
    )
    return {"Authorization": f"Bearer {key}"}


async def test_an_assessed_level_stands_until_a_report_brings_new_facts(embedded: Running) -> None:
    """Fix 2: red -> yellow by assessment; a report repeating the figures leaves it yellow;
    one with a larger figure grades it on all its figures again (red, provisional)."""
    first = report(workers_involved=5, terminations=20)
    incident = await incident_of(embedded, await submit(embedded, first))
    assert incident["level"] == "red"
    url = f"/v1/incidents/{incident['id']}/assessment"
    body = {"decision": "set_level", "level": "yellow", "reason": "核实后降级"}
    lowered = await embedded.client.post(url, json=body, headers=embedded.auth())
    assert lowered.json()["level"] == "yellow" and lowered.json()["provisional"] is False

    same = report(source="complaint", workers_involved=5, terminations=20)
    same["enterprise"] = first["enterprise"]
    after = await incident_of(embedded, await submit(embedded, same))
    assert after["id"] == incident["id"] and len(after["report_ids"]) == 2
    assert after["level"] == "yellow" and after["provisional"] is False

    more = report(source="media", workers_involved=5, terminations=25)
    more["enterprise"] = first["enterprise"]
    raised = await incident_of(embedded, await submit(embedded, more))
    assert raised["level"] == "red" and raised["provisional"] is True
    assert raised["terminations"] == 25


async def test_provisional_lists_the_warnings_awaiting_assessment(embedded: Running) -> None:
    """The assessment page's question: which open warnings still await the leading group."""
    waiting = await incident_of(embedded, await submit(embedded, report(workers_involved=40)))
    assessed = await incident_of(embedded, await submit(embedded, report(workers_involved=45)))
    body = {"decision": "confirm", "reason": "核实属实"}
    url = f"/v1/incidents/{assessed['id']}/assessment"
    confirmed = await embedded.client.post(url, json=body, headers=embedded.auth())
    assert confirmed.status_code == 200, confirmed.text

    async def listed(provisional: str) -> set[str]:
        params = {"jurisdiction": "changchun", "status": "open", "provisional": provisional}
        page = await embedded.client.get("/v1/incidents", params=params, headers=embedded.auth())
        assert page.status_code == 200, page.text
        return {i["id"] for i in page.json()["items"]}

    assert await listed("true") == {waiting["id"]}
    assert await listed("false") == {assessed["id"]}
    got = await embedded.client.get(
        "/v1/incidents", params={"provisional": "perhaps"}, headers=embedded.auth()
    )
    assert assert_problem(got, 422)["errors"][0]["loc"] == ["query", "provisional"]


async def test_a_report_without_a_code_joins_the_incident_of_the_same_name(
    embedded: Running,
) -> None:
    """Fix 3: code and no code, names equal once folded: one incident; another code with the
    same name: another incident."""
    coded = report(enterprise={"name": "长春（宏达）建筑劳务有限公司", "credit_code": CODE})
    incident = await incident_of(embedded, await submit(embedded, coded))
    media = report(source="media", enterprise={"name": " 长春(宏达)建筑劳务有限责任公司"})
    joined = await incident_of(embedded, await submit(embedded, media))
    assert joined["id"] == incident["id"] and joined["corroboration"] == 2
    other = report(enterprise={"name": "长春宏达建筑劳务有限公司", "credit_code": OTHER_CODE})
    apart = await incident_of(embedded, await submit(embedded, other))
    assert apart["id"] != incident["id"]
    # The incident learnt its code: a report with the code alone joins it too.
    again = report(source="complaint", enterprise={"name": "别名", "credit_code": CODE})
    assert (await incident_of(embedded, await submit(embedded, again)))["id"] == incident["id"]


def xuanen(region: str, workers: int, **extra: Any) -> dict[str, Any]:
    return report(
        jurisdiction="xuanen",
        region=region,
        workers_involved=workers,
        collective_action="possible",
        **extra,
    )


async def test_xuanen_level1_over_two_townships_is_copied_to_each(embedded: Running) -> None:
    """Fix 5: the report's township is responsible; the other affected township, the
    township's party committee and government and the county's body get copies; level 2
    goes to the county party committee and government and the prefecture's body."""
    one = xuanen("zhushan", 30, affected_regions=["zhushan", "gaoluo"])
    incident = await incident_of(embedded, await submit(embedded, one))
    assert incident["level"] == "level1"
    assert incident["routed_to"]["body_id"] == "xuanen.zhushan.tripartite"
    (event,) = await eventually(lambda: warnings_on_bus(embedded, incident["id"]))
    copies = [c["body_id"] for c in event["data"]["warning"]["copies"]]
    assert copies == [
        "xuanen.gaoluo.tripartite",
        "xuanen.zhushan.government",
        "xuanen.county.tripartite",
    ]
    assert {c["name"] for c in event["data"]["warning"]["copies"]} >= {"珠山镇党委政府"}
    assert event["partitionkey"].startswith("xuanen:")
    assert sorted(incident["bodies"]) == sorted(["xuanen.zhushan.tripartite", *copies])

    two = xuanen("wanzhai", 60, affected_regions=["wanzhai", "gaoluo"])
    level2 = await incident_of(embedded, await submit(embedded, two))
    assert level2["level"] == "level2"
    (event,) = await eventually(lambda: warnings_on_bus(embedded, level2["id"]))
    copies = [c["body_id"] for c in event["data"]["warning"]["copies"]]
    assert copies == ["xuanen.county.government", "xuanen.prefecture.tripartite"]
    listed = await embedded.client.get("/v1/jurisdictions", headers=embedded.auth())
    bodies = {
        b["id"] if "id" in b else b["body_id"] for j in listed.json()["items"] for b in j["bodies"]
    }
    assert {"xuanen.county.government", "xuanen.gaoluo.government"} <= bodies


async def test_a_cluster_shows_its_members_categories_and_regions(embedded: Running) -> None:
    """Fix 10: a cluster has no one category or region; a single incident lists its own."""
    a = await incident_of(embedded, await submit(embedded, xuanen("zhushan", 30)))
    assert a["categories"] == ["wage_arrears"] and a["region"] == "zhushan"
    b = await incident_of(embedded, await submit(embedded, xuanen("gaoluo", 30, category="layoff")))
    assert b["category"] == "layoff"

    async def cluster() -> dict[str, Any] | None:
        page = await embedded.client.get(
            "/v1/incidents", params={"kind": "cluster"}, headers=embedded.auth()
        )
        return page.json()["items"][0] if page.json()["items"] else None

    found = await eventually(cluster)
    assert found["category"] is None and found["categories"] == ["layoff", "wage_arrears"]
    assert found["region"] is None and found["regions"] == ["gaoluo", "zhushan"]
    assert found["reasons_zh"][0].endswith("≥ 2")
    (event,) = await eventually(lambda: warnings_on_bus(embedded, found["id"]))
    assert event["partitionkey"] == "xuanen:cluster"


async def test_incident_filters_filter_or_answer_422(embedded: Running) -> None:
    """Fix 11: `category` filters; an unknown level, status, kind, category or a region of
    another jurisdiction is a 422 naming the query field."""
    wage = await incident_of(embedded, await submit(embedded, report()))
    layoff = await incident_of(embedded, await submit(embedded, report(category="layoff")))
    page = await embedded.client.get(
        "/v1/incidents", params={"category": "layoff"}, headers=embedded.auth()
    )
    assert [i["id"] for i in page.json()["items"]] == [layoff["id"]]
    assert wage["id"] != layoff["id"]
    for name, value, extra in [
        ("level", "purple", {}),
        ("level", "level2", {"jurisdiction": "changchun"}),
        ("status", "pending", {}),
        ("kind", "group", {}),
        ("category", "theft", {}),
        ("region", "nanguan", {"jurisdiction": "xuanen"}),
    ]:
        got = await embedded.client.get(
            "/v1/incidents", params={name: value, **extra}, headers=embedded.auth()
        )
        problem = assert_problem(got, 422)
        assert problem["errors"][0]["loc"] == ["query", name], (name, problem)


async def test_who_reads_which_incidents(embedded: Running) -> None:
    """Fix 12: a township's responder reads its region's incidents and what its body was
    sent; an external body only what it was sent; 404 where there is none."""
    await who_reads_which_incidents(embedded)


@pytest.mark.postgres
async def test_who_reads_which_incidents_on_postgres(on_postgres: Running) -> None:
    """The same, where the lists are narrowed in PostgreSQL's SQL."""
    await who_reads_which_incidents(on_postgres)


async def who_reads_which_incidents(embedded: Running) -> None:
    zhushan = await incident_of(embedded, await submit(embedded, xuanen("zhushan", 30)))
    spread = xuanen("lijiahe", 20, affected_regions=["lijiahe", "gaoluo"])
    copied = await incident_of(embedded, await submit(embedded, spread))
    level2 = await incident_of(
        embedded,
        await submit(embedded, xuanen("wanzhai", 60, affected_regions=["wanzhai", "chunmuying"])),
    )

    async def listed(headers: dict[str, str]) -> set[str]:
        page = await embedded.client.get(
            "/v1/incidents", params={"kind": "single"}, headers=headers
        )
        assert page.status_code == 200, page.text
        return {i["id"] for i in page.json()["items"]}

    gaoluo = await key_of(embedded, "xuanen.gaoluo.tripartite")
    assert await listed(gaoluo) == {copied["id"]}
    denied = await embedded.client.get(f"/v1/incidents/{zhushan['id']}", headers=gaoluo)
    assert_problem(denied, 403)
    wanzhai_gov = await key_of(embedded, "xuanen.wanzhai.government")
    assert await listed(wanzhai_gov) == {level2["id"]}
    prefecture = await key_of(embedded, "xuanen.prefecture.tripartite")
    assert level2["id"] in await listed(prefecture)
    assert not {zhushan["id"], copied["id"]} & await listed(prefecture)
    assert_problem(
        await embedded.client.get(f"/v1/incidents/{zhushan['id']}", headers=prefecture), 403
    )
    assess = await embedded.client.post(
        f"/v1/incidents/{level2['id']}/assessment",
        json={"decision": "confirm"},
        headers=prefecture,
    )
    assert_problem(assess, 403)
    assert_problem(await embedded.client.get("/v1/incidents/nope", headers=gaoluo), 404)
    events = await warnings_on_bus(embedded, level2["id"])
    assert all(e["type"] == INCIDENT_WARNING for e in events)
    assert dt.datetime.fromisoformat(level2["opened_at"])


@pytest.fixture
async def on_pg(pg_url: str) -> AsyncIterator[tuple[Runtime, Grading]]:
    """Grading alone on PostgreSQL, its consumers driven by the test."""
    runtime = Runtime.from_settings(make_settings(database_url=pg_url))
    await truncate_all(runtime)
    policies = load_policies(runtime.registry)
    outbox = runtime.outbox("grading")
    yield runtime, Grading(runtime.sessionmaker, runtime.registry, policies, outbox, runtime.clock)
    await runtime.engine.dispose()


@pytest.mark.postgres
async def test_the_timeline_shows_acknowledgements_closings_escalations_and_reveals(
    on_pg: tuple[Runtime, Grading],
) -> None:
    """The notifier's acknowledgement (who, how, the note), a closed notification (why), an
    escalation (the body joins the incident's `bodies`) and a caller's data revealed (who,
    why) each become a timeline entry, still sealed."""
    runtime, grading = on_pg
    on_reports, on_notices = (runtime.runner(c, grading.outbox) for c in consumers(grading))
    placed = received("时间线企业有限公司", 20)
    event = ReportReceived(report=ReportData.model_validate(placed)).to_event(
        subject=placed["id"], key="k"
    )
    await on_reports.process(Delivered(REPORT_RECEIVED, "k", event.to_bytes(), 0, 0))
    async with runtime.sessionmaker() as session:
        incident = await session.scalar(select(Incident))
    assert incident is not None and incident.level == "yellow"
    now = dt.datetime.now(dt.UTC)
    notification = {
        "id": "n1",
        "incident_id": incident.id,
        "jurisdiction": "changchun",
        "body_id": "changchun.leading_group_office",
        "kind": "responsible",
        "level": "yellow",
        "level_label": "二级黄色预警",
        "issued_at": now,
        "due_at": now,
        "status": "acknowledged",
        "acknowledged_at": now,
        "acknowledgement": {
            "at": now,
            "by": "王科长 (changchun.leading_group_office)",
            "note": "已联系企业",
            "via": "api",
        },
        "late": False,
        "escalated_from": None,
        "escalation_chain": [],
        "drill": False,
    }
    closed = notification | {
        "status": "closed",
        "closed_reason": "superseded",
        "acknowledgement": None,
    }
    notices = [
        NotificationEvent(kind="acknowledged", incident_id=incident.id, notification=notification),
        NotificationEvent(kind="closed", incident_id=incident.id, notification=closed),
        NotificationEvent(
            kind="escalated",
            incident_id=incident.id,
            notification=notification | {"status": "overdue", "acknowledgement": None},
            escalated_to="changchun.leading_group",
        ),
    ]
    for n, notice in enumerate(notices):
        raw = notice.model_validate(notice.model_dump()).to_event(subject="n1", key="k")
        await on_notices.process(Delivered(NOTIFICATION, "k", raw.to_bytes(), 0, n))
    reveal = ReportRevealed(
        report_id=placed["id"],
        incident_id=None,
        jurisdiction="changchun",
        by="李四 (changchun.leading_group_office)",
        reason="回访来电人",
        at=now,
    ).to_event(subject=placed["id"], key="k")
    await on_reports.process(Delivered(REPORT_RECEIVED, "k", reveal.to_bytes(), 0, 1))

    async with runtime.sessionmaker() as session:
        entries = list(await session.scalars(select(TimelineEntry).order_by(TimelineEntry.id)))
        again = await session.get(Incident, incident.id)
    assert verify_chain(entries)
    by_kind = {e.kind: e for e in entries}
    ack = by_kind["notification_acknowledged"]
    assert ack.note == "已联系企业" and ack.detail["by"].startswith("王科长")
    assert ack.detail["via"] == "api"
    assert by_kind["notification_closed"].detail["closed_reason"] == "superseded"
    assert by_kind["notification_escalated"].detail["escalated_to"] == "changchun.leading_group"
    revealed = by_kind["report_revealed"]
    assert (revealed.actor, revealed.note) == (
        "李四 (changchun.leading_group_office)",
        "回访来电人",
    )
    assert revealed.detail["report_id"] == placed["id"]
    assert again is not None and "changchun.leading_group" in again.bodies


async def test_an_assessment_retried_with_its_idempotency_key_is_made_once(
    embedded: Running,
) -> None:
    """Retries are safe: the same key and body get the first answer, and one timeline entry;
    the same key with another body is 409."""
    incident = await incident_of(embedded, await submit(embedded, report(workers_involved=60)))
    url = f"/v1/incidents/{incident['id']}/assessment"
    headers = embedded.auth() | {"Idempotency-Key": "assess-1"}
    body = {"decision": "set_level", "level": "yellow", "reason": "核实后降级"}
    first = await embedded.client.post(url, json=body, headers=headers)
    again = await embedded.client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["level"] == "yellow"
    other = await embedded.client.post(url, json=body | {"level": "blue"}, headers=headers)
    assert_problem(other, 409)
    detail = await embedded.client.get(f"/v1/incidents/{incident['id']}", headers=embedded.auth())
    kinds = [e["kind"] for e in detail.json()["timeline"]]
    assert kinds.count("level_set_by_assessment") == 1, kinds

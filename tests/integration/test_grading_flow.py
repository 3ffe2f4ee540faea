"""Reports become incidents with the policy's level, explained, routed and announced."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from libs.common.auth import Role, create_key
from libs.common.bus import Delivered
from libs.common.contracts import EnterpriseRef, ReportData
from libs.common.events import INCIDENT_WARNING, REPORT_RECEIVED, new_event
from libs.common.runtime import Runtime
from libs.common.tables import BusMessage, DeadLetter
from services.grading.audit import verify_chain
from services.grading.consumers import consumers
from services.grading.policy import load_policies
from services.grading.reads import timeline_of
from services.grading.service import Grading
from services.grading.tables import Incident, IncidentReport, TimelineEntry
from tests.conftest import (
    Running,
    eventually,
    make_settings,
    running,
    submit,
    truncate_all,
)
from tests.conftest import a_report as report


async def incident_of(system: Running, report_id: str) -> dict[str, Any]:
    async def placed() -> str | None:
        got = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
        return got.json()["incident_id"]  # type: ignore[no-any-return]

    incident_id = await eventually(placed)
    got = await system.client.get(f"/v1/incidents/{incident_id}", headers=system.auth())
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


async def warnings_on_bus(system: Running, incident_id: str) -> list[dict[str, Any]]:
    async with system.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(BusMessage.payload).where(BusMessage.topic == INCIDENT_WARNING)
            )
        ).scalars()
        events = [orjson.loads(p) for p in rows]
    return [e for e in events if e["subject"] == incident_id]


async def test_a_report_becomes_an_incident_with_level_reasons_and_route(
    embedded: Running,
) -> None:
    rid = await submit(embedded, report(workers_involved=35))
    incident = await incident_of(embedded, rid)
    assert incident["level"] == "yellow"
    assert incident["level_label"] == "二级黄色预警"
    assert incident["level_rank"] == 2
    assert incident["reasons"] == ["workers_involved 35 >= 20 (涉及人数 35 ≥ 20 人)"]
    assert incident["routed_to"] == {
        "body_id": "changchun.leading_group_office",
        "name": "领导小组办公室",
    }
    assert incident["report_ids"] == [rid]
    assert incident["provisional"] is True  # until the leading group assesses it
    assert incident["drill"] is False
    assert incident["timeline_intact"] is True
    # (the notifier's and the case's entries may follow, as they deliver and open the case)
    others = ("notification_", "case_")
    own = [e["kind"] for e in incident["timeline"] if not e["kind"].startswith(others)]
    assert own == ["opened", "report_added", "level_raised"]

    events = await eventually(lambda: warnings_on_bus(embedded, incident["id"]))
    assert len(events) == 1
    warning = events[0]["data"]["warning"]
    assert events[0]["type"] == INCIDENT_WARNING
    assert warning["level"] == "yellow" and warning["previous_level"] is None
    assert warning["routed_to"]["body_id"] == "changchun.leading_group_office"
    assert warning["reporting_limit"] == "PT6H"
    issued = dt.datetime.fromisoformat(warning["issued_at"])
    assert dt.datetime.fromisoformat(warning["due_at"]) - issued == dt.timedelta(hours=6)
    assert warning["escalation_chain"] == [
        "changchun.leading_group",
        "changchun.director",
        "changchun.city_government",
    ]


async def test_reports_on_one_enterprise_join_one_incident_and_raise_its_level(
    embedded: Running,
) -> None:
    first = report(workers_involved=12)
    rid1 = await submit(embedded, first)
    incident = await incident_of(embedded, rid1)
    assert incident["level"] == "blue"
    # The hotline reports the same dispute with other figures and a spelling variant.
    second = report(
        source="hotline_12345",
        workers_involved=8,
        amount_yuan="6000000",
        enterprise={"name": first["enterprise"]["name"].replace("有限公司", "有限责任公司")},
    )
    rid2 = await submit(embedded, second)
    joined = await incident_of(embedded, rid2)
    assert joined["id"] == incident["id"]
    assert joined["level"] == "red"
    assert joined["workers_involved"] == 12  # the largest any report gives, not the sum
    assert joined["amount_yuan"] == "6000000.00"
    assert joined["corroboration"] == 2
    assert sorted(joined["report_ids"]) == sorted([rid1, rid2])
    assert joined["routed_to"]["body_id"] == "changchun.leading_group"
    events = await eventually(lambda: _at_least(warnings_on_bus(embedded, incident["id"]), 2))
    levels = [(e["data"]["warning"] or {}).get("level") for e in events]
    assert levels == ["blue", "red"]
    assert events[1]["data"]["warning"]["previous_level"] == "blue"

    # A smaller later report never lowers the level.
    rid3 = await submit(embedded, report(workers_involved=1, enterprise=first["enterprise"]))
    after = await incident_of(embedded, rid3)
    assert after["id"] == incident["id"] and after["level"] == "red"


async def _at_least(events: Any, n: int) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await events
    return found if len(found) >= n else None


async def test_out_of_scope_and_below_threshold_have_no_level_until_assessed(
    embedded: Running,
) -> None:
    rid = await submit(embedded, report(category="social_insurance", workers_involved=200))
    incident = await incident_of(embedded, rid)
    assert incident["level"] is None and incident["routed_to"] is None
    assert "不在" in incident["reasons"][0]

    # Manual warning (领导小组视情况启动): only the leading group or an admin.
    office = embedded.auth("responder")  # changchun.leading_group_office: not an assessor
    denied = await embedded.client.post(
        f"/v1/incidents/{incident['id']}/assessment",
        json={"decision": "set_level", "level": "yellow", "reason": "可能扩大影响"},
        headers=office,
    )
    assert denied.status_code == 403
    _, key = await create_key(
        embedded.runtime.sessionmaker,
        embedded.runtime.registry,
        name="group",
        role=Role.RESPONDER,
        body_id="changchun.leading_group",
    )
    group = {"Authorization": f"Bearer {key}"}
    no_reason = await embedded.client.post(
        f"/v1/incidents/{incident['id']}/assessment",
        json={"decision": "set_level", "level": "yellow"},
        headers=group,
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == ["body", "reason"]
    bad_level = await embedded.client.post(
        f"/v1/incidents/{incident['id']}/assessment",
        json={"decision": "set_level", "level": "level2", "reason": "x"},
        headers=group,
    )
    assert bad_level.status_code == 422
    ok = await embedded.client.post(
        f"/v1/incidents/{incident['id']}/assessment",
        json={"decision": "set_level", "level": "yellow", "reason": "可能扩大影响"},
        headers=group,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["level"] == "yellow" and ok.json()["provisional"] is False
    assert ok.json()["routed_to"]["body_id"] == "changchun.leading_group_office"

    detail = (
        await embedded.client.get(f"/v1/incidents/{incident['id']}", headers=embedded.auth())
    ).json()
    entry = next(e for e in reversed(detail["timeline"]) if e["actor"] != "notifier")
    assert entry["kind"] == "level_set_by_assessment"
    assert entry["actor"] == "changchun.leading_group"
    assert entry["detail"] == {"from": None, "to": "yellow"} and entry["note"] == "可能扩大影响"

    async def manual_warning() -> list[dict[str, Any]]:
        events = await warnings_on_bus(embedded, incident["id"])
        return [e for e in events if e["type"] == INCIDENT_WARNING]

    issued = await eventually(manual_warning)
    assert [e["data"]["warning"]["level"] for e in issued] == ["yellow"]
    assert issued[0]["data"]["warning"]["previous_level"] is None


async def test_assessment_confirms_or_lowers_and_the_timeline_shows_tampering(
    embedded: Running,
) -> None:
    rid = await submit(embedded, report(workers_involved=60))
    incident = await incident_of(embedded, rid)
    assert incident["level"] == "red"
    url = f"/v1/incidents/{incident['id']}/assessment"
    confirmed = await embedded.client.post(
        url, json={"decision": "confirm"}, headers=embedded.auth()
    )
    assert confirmed.json()["provisional"] is False and confirmed.json()["level"] == "red"
    same = await embedded.client.post(
        url, json={"decision": "set_level", "level": "red", "reason": "x"}, headers=embedded.auth()
    )
    assert same.status_code == 409
    lowered = await embedded.client.post(
        url,
        json={"decision": "set_level", "level": "blue", "reason": "已部分支付"},
        headers=embedded.auth(),
    )
    assert lowered.json()["level"] == "blue"
    assert lowered.json()["reasons"] == ["assessment: 已部分支付 (领导小组评估)"]

    # Someone edits the audit trail behind the API's back: the chain no longer verifies.
    async with embedded.runtime.sessionmaker.begin() as session:
        entry = await session.scalar(
            select(TimelineEntry).where(
                TimelineEntry.incident_id == incident["id"], TimelineEntry.kind == "level_raised"
            )
        )
        assert entry is not None
        entry.detail = {**entry.detail, "to": "blue"}
    detail = await embedded.client.get(f"/v1/incidents/{incident['id']}", headers=embedded.auth())
    assert detail.json()["timeline_intact"] is False


async def test_a_timeline_read_while_an_entry_is_written_still_verifies(
    system: Running,
) -> None:
    """The incident row and its timeline are two reads: entries committed between them belong
    to a newer anchor and must not make the one as read look broken."""
    incident = await incident_of(system, await submit(system, report(workers_involved=60)))
    async with system.runtime.sessionmaker() as session:
        row = await session.get(Incident, incident["id"])
        assert row is not None
        head, written = row.timeline_head, row.timeline_entries
    confirmed = await system.client.post(  # commits while the row, as read, is in hand
        f"/v1/incidents/{incident['id']}/assessment",
        json={"decision": "confirm"},
        headers=system.auth(),
    )
    assert confirmed.status_code == 200, confirmed.text
    async with system.runtime.sessionmaker() as session:
        everything = await timeline_of(session, incident["id"])
        as_read = await timeline_of(session, incident["id"], written)
    assert len(everything) > written  # the assessment's entry is in by now
    assert not verify_chain(everything, head=head, count=written)
    assert verify_chain(as_read, head=head, count=written)


async def test_listing_filters_paginates_and_scopes(embedded: Running) -> None:
    ids = [await submit(embedded, report(workers_involved=w)) for w in (10, 25, 55, 12)]
    xuanen = await submit(
        embedded, report(jurisdiction="xuanen", region="gaoluo", collective_action="possible")
    )
    for rid in [*ids, xuanen]:
        await incident_of(embedded, rid)

    async def listing(headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        items, cursor = [], None
        while True:
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await embedded.client.get("/v1/incidents", params=query, headers=headers)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return items

    everything = await listing(embedded.auth())
    assert len(everything) == 5 and len({i["id"] for i in everything}) == 5
    assert [i["opened_at"] for i in everything] == sorted(
        (i["opened_at"] for i in everything), reverse=True
    )
    blue = await listing(embedded.auth(), level="blue")
    assert {i["workers_involved"] for i in blue} == {10, 12}
    analyst = await listing(embedded.auth("analyst"))  # changchun only
    assert {i["jurisdiction"] for i in analyst} == {"changchun"} and len(analyst) == 4
    other = await embedded.client.get(
        "/v1/incidents", params={"jurisdiction": "xuanen"}, headers=embedded.auth("analyst")
    )
    assert other.status_code == 403
    xuanen_incident = await incident_of(embedded, xuanen)
    hidden = await embedded.client.get(
        f"/v1/incidents/{xuanen_incident['id']}", headers=embedded.auth("analyst")
    )
    assert hidden.status_code == 403  # another jurisdiction's (CONTRACT.md v1.1)
    reporter = await embedded.client.get("/v1/incidents", headers=embedded.auth("reporter"))
    assert reporter.status_code == 403


async def test_xuanen_levels_and_a_county_cluster(embedded: Running) -> None:
    def xuanen(region: str, workers: int, **extra: Any) -> dict[str, Any]:
        return report(
            jurisdiction="xuanen",
            region=region,
            workers_involved=workers,
            collective_action="possible",
            **extra,
        )

    quiet = await incident_of(
        embedded,
        await submit(
            embedded, report(jurisdiction="xuanen", region="zhushan", workers_involved=300)
        ),
    )
    assert quiet["level"] is None  # no collective action: no warning in Xuan'en

    a = await incident_of(embedded, await submit(embedded, xuanen("zhushan", 30)))
    assert a["level"] == "level1"
    assert a["routed_to"]["body_id"] == "xuanen.zhushan.tripartite"
    spread = await incident_of(
        embedded,
        await submit(embedded, xuanen("gaoluo", 60, affected_regions=["gaoluo", "wanzhai"])),
    )
    assert spread["level"] == "level2"  # one incident over two townships, 60 workers
    assert spread["routed_to"]["body_id"] == "xuanen.county.tripartite"

    async def cluster() -> dict[str, Any] | None:
        page = await embedded.client.get(
            "/v1/incidents", params={"kind": "cluster"}, headers=embedded.auth()
        )
        items = page.json()["items"]
        return items[0] if items else None

    found = await eventually(cluster)
    assert found["level"] == "level2"
    assert found["routed_to"]["body_id"] == "xuanen.county.tripartite"
    assert sorted(found["member_ids"]) == sorted([a["id"], spread["id"]])
    assert found["workers_involved"] == 90
    assert set(found["regions"]) == {"zhushan", "gaoluo", "wanzhai"}

    # A new incident with collective action joins the open cluster.
    c = await incident_of(embedded, await submit(embedded, xuanen("lijiahe", 15)))

    async def grown() -> dict[str, Any] | None:
        now = await cluster()
        return now if now and c["id"] in now["member_ids"] else None

    assert (await eventually(grown))["workers_involved"] == 105
    member = (await embedded.client.get(f"/v1/incidents/{a['id']}", headers=embedded.auth())).json()
    assert member["cluster_id"] == found["id"]
    # The cluster does not take the reports away from their own incidents.
    placed = await embedded.client.get(f"/v1/reports/{a['report_ids'][0]}", headers=embedded.auth())
    assert placed.json()["incident_id"] == a["id"]


async def test_drill_mode_scales_limits_and_marks_everything(sqlite_url: str) -> None:
    async with running(make_settings(database_url=sqlite_url, time_scale=3600)) as drill:
        rid = await submit(drill, report(workers_involved=60))
        incident = await incident_of(drill, rid)
        assert incident["drill"] is True
        events = await eventually(lambda: warnings_on_bus(drill, incident["id"]))
        warning = events[0]["data"]["warning"]
        assert warning["drill"] is True and warning["reporting_limit"] == "PT1H"
        assert warning["reporting_limit_seconds"] == 1.0  # 1 h / 3600
        issued = dt.datetime.fromisoformat(warning["issued_at"])
        assert dt.datetime.fromisoformat(warning["due_at"]) - issued == dt.timedelta(seconds=1)


async def test_the_docs_show_every_incident_route_with_examples(embedded: Running) -> None:
    spec = (await embedded.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"get"} <= set(paths["/v1/incidents"])
    assert {"get"} <= set(paths["/v1/incidents/{incident_id}"])
    assert {"post"} <= set(paths["/v1/incidents/{incident_id}/assessment"])
    schemas = spec["components"]["schemas"]
    assert schemas["IncidentOut"].get("examples")
    assert schemas["AssessmentIn"].get("examples")


# ------------------------------------------------------------------- PostgreSQL: concurrency


@pytest.fixture
async def pg_grading(pg_url: str) -> AsyncIterator[tuple[Runtime, Grading]]:
    runtime = Runtime.from_settings(make_settings(database_url=pg_url))
    await truncate_all(runtime)
    grading = Grading(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        policies=load_policies(runtime.registry),
        outbox=runtime.outbox("grading"),
        clock=runtime.clock,
    )
    yield runtime, grading
    await runtime.engine.dispose()


def received(name: str, n: int) -> dict[str, Any]:
    """A report as intake announces it, on the enterprise `name`; `n` varies it."""
    return ReportData(
        id=str(uuid.uuid4()),
        channel="rest",
        source=["agency", "media", "complaint"][n % 3],
        source_ref=None,
        jurisdiction="changchun",
        region="chaoyang",
        affected_regions=["chaoyang"],
        occurred_at=dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC),
        received_at=dt.datetime(2026, 11, 20, 1, 31, tzinfo=dt.UTC),
        enterprise=EnterpriseRef(name=name, credit_code=None, industry=None),
        category="wage_arrears",
        category_text=None,
        workers_involved=5 + n,
        amount_yuan=Decimal(0),
        terminations=0,
        collective_action="none",
        extreme_individual=False,
        potential_major_impact=False,
        summary=None,
        demands=None,
        location=None,
    ).model_dump(mode="json")


@pytest.mark.postgres
async def test_a_batch_places_reports_as_one_by_one_would(
    pg_grading: tuple[Runtime, Grading],
) -> None:
    runtime, grading = pg_grading
    on_reports, on_notices = (runtime.runner(c, grading.outbox) for c in consumers(grading))
    old, other = "批量老企业有限公司", "批量另一企业有限公司"

    def delivered(topic: str, data: dict[str, Any], offset: int) -> Delivered:
        event = new_event(service="t", type_=topic, data=data, key="k")
        return Delivered(topic, "k", event.to_bytes(), 0, offset)

    first = [received(old, 0), received(other, 1)]
    for n, r in enumerate(first):  # two incidents exist before the batch
        await on_reports.process(delivered(REPORT_RECEIVED, {"report": r}, n))

    # 60 reports: 20 join each existing incident, 20 open incidents of their own; and one
    # report placed before, again.
    batch = [received([old, other, f"批量新企业{n}有限公司"][n % 3], n) for n in range(60)]
    batch.append(first[0])
    await on_reports.process_batch(
        [delivered(REPORT_RECEIVED, {"report": r}, 10 + n) for n, r in enumerate(batch)]
    )
    async with runtime.sessionmaker() as session:
        ids = {i.enterprise_name: i.id for i in await session.scalars(select(Incident))}
    notices = [
        {"incident_id": ids[name], "kind": "sent", "notification": {"id": str(n)}}
        for n, name in enumerate([old, other] * 15)
    ]
    await on_notices.process_batch(
        [delivered("laborwatch.notification.v1", d, n) for n, d in enumerate(notices)]
    )
    async with runtime.sessionmaker() as session:
        incidents = list(await session.scalars(select(Incident)))
        placed = dict(
            (
                await session.execute(
                    select(IncidentReport.incident_id, func.count()).group_by(
                        IncidentReport.incident_id
                    )
                )
            ).all()
        )
        entries = list(await session.scalars(select(TimelineEntry).order_by(TimelineEntry.id)))
    assert len(incidents) == 22
    assert placed[ids[old]] == 21  # the repeat not again
    assert placed[ids[other]] == 21
    assert sum(placed.values()) == 62
    for incident in incidents:  # every chain whole, the notices on it
        chain = [e for e in entries if e.incident_id == incident.id]
        assert verify_chain(chain)
        if incident.enterprise_name in (old, other):
            assert sum(e.kind == "notification_sent" for e in chain) == 15


@pytest.mark.postgres
async def test_concurrent_reports_on_one_enterprise_never_make_two_incidents(
    pg_grading: tuple[Runtime, Grading],
) -> None:
    runtime, grading = pg_grading
    name = f"并发{uuid.uuid4().hex[:6]}有限公司"
    # Twelve transactions at once, as twelve consumers would run them: the unique index on
    # open keys lets one open the incident; a loser's event fails once, and its second
    # attempt joins the winner's incident.
    (on_reports, _) = consumers(grading)
    runner = runtime.runner(on_reports, grading.outbox)

    async def place(n: int) -> None:
        event = new_event(
            service="intake", type_=REPORT_RECEIVED, data={"report": received(name, n)}, key=name
        )
        await runner.process(Delivered(REPORT_RECEIVED, name, event.to_bytes(), 0, n))

    await asyncio.gather(*(place(n) for n in range(12)))
    async with runtime.sessionmaker() as session:
        incidents = list((await session.execute(select(Incident))).scalars())
        reports = await session.scalar(select(func.count()).select_from(IncidentReport))
    assert len(incidents) == 1
    assert reports == 12
    assert incidents[0].workers_involved == 16
    assert incidents[0].level == "blue"
    assert sorted(incidents[0].sources) == ["agency", "complaint", "media"]
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0


async def test_drill_mode_scales_the_cluster_window(sqlite_url: str) -> None:
    # 30 days at 432,000× is six seconds: incidents further apart never form a cluster. (The
    # window runs from when grading took the last report: six seconds leave a slow machine
    # time to carry the third report through intake and grading, where three did not.)
    async with running(make_settings(database_url=sqlite_url, time_scale=432_000)) as drill:

        def xuanen(region: str) -> dict[str, Any]:
            return report(
                jurisdiction="xuanen",
                region=region,
                workers_involved=30,
                collective_action="possible",
            )

        first = await incident_of(drill, await submit(drill, xuanen("zhushan")))
        await asyncio.sleep(6.5)
        second = await incident_of(drill, await submit(drill, xuanen("gaoluo")))
        assert first["level"] == second["level"] == "level1"
        clusters = await drill.client.get(
            "/v1/incidents", params={"kind": "cluster"}, headers=drill.auth()
        )
        assert clusters.json()["items"] == []
        # Within the (scaled) window, a third incident does make one with the second.
        third = await incident_of(drill, await submit(drill, xuanen("wanzhai")))

        async def cluster() -> list[dict[str, Any]]:
            page = await drill.client.get(
                "/v1/incidents", params={"kind": "cluster"}, headers=drill.auth()
            )
            return page.json()["items"]  # type: ignore[no-any-return]

        found = await eventually(cluster)
        assert sorted(found[0]["member_ids"]) == sorted([second["id"], third["id"]])

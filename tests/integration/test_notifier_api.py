"""Notifications through the API: deadlines, acknowledgement, escalation, reminders, restarts.

A Xuan'en report with collective action "possible" in zhushan is a level1 warning (limit 6 h)
to xuanen.zhushan.tripartite, copied to xuanen.county.tripartite; a Changchun report with
10-19 workers is a blue warning (limit 24 h) to changchun.leading_group_office.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from laborwatch import apps
from libs.common.auth import Role, create_key
from libs.common.events import INCIDENT_WARNING, NOTIFICATION
from libs.common.problems import PROBLEM_JSON
from libs.common.runtime import Runtime
from libs.common.tables import BusMessage
from services.notifier.tables import Delivery, LateReport, Notification
from tests.conftest import Running, a_report, eventually, make_settings, running, submit

ZHUSHAN = "xuanen.zhushan.tripartite"
COUNTY = "xuanen.county.tripartite"
PREFECTURE = "xuanen.prefecture.tripartite"
ZHUSHAN_GOV = "xuanen.zhushan.government"  # 乡镇党委政府, copied on level 1
OFFICE = "changchun.leading_group_office"

# Drill scales: Xuan'en level1 (6 h) lasts 1 s; Changchun blue (24 h) lasts 3 s (or 10 s).
LEVEL1_IN_1S = 21600
BLUE_IN_3S = 28800
BLUE_IN_10S = 8640


# ------------------------------------------------------------------------------- helpers


def xuanen_report(region: str = "zhushan", **overrides: Any) -> dict[str, Any]:
    """A Xuan'en report that makes a level1 warning."""
    return (
        a_report(
            jurisdiction="xuanen",
            region=region,
            enterprise={"name": f"宣恩{uuid.uuid4().hex[:6]}建筑劳务有限公司"},
            workers_involved=30,
            collective_action="possible",
        )
        | overrides
    )


def changchun_blue(**overrides: Any) -> dict[str, Any]:
    """A Changchun report that makes a blue warning."""
    return a_report(workers_involved=12) | overrides


async def incident_id_of(system: Running, report_id: str) -> str:
    """Wait until grading has placed a report; return its incident's id."""

    async def placed() -> str | None:
        got = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
        assert got.status_code == 200, got.text
        return got.json()["incident_id"]  # type: ignore[no-any-return]

    return str(await eventually(placed))


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every notification the caller may see that matches, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/notifications", params=query, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def notifications_of(
    system: Running, incident_id: str, *, at_least: int = 1
) -> list[dict[str, Any]]:
    """Wait for at least n notifications of an incident (admin view)."""

    async def enough() -> list[dict[str, Any]] | None:
        found = await listing(system.client, system.auth(), incident_id=incident_id)
        return found if len(found) >= at_least else None

    return await eventually(enough)  # type: ignore[no-any-return]


def one(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The single item whose fields match."""
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


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


async def bus_events(runtime: Runtime, topic: str) -> list[dict[str, Any]]:
    """Every event the in-process bus carried on a topic, in order."""
    async with runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(BusMessage.payload).where(BusMessage.topic == topic).order_by(BusMessage.id)
            )
        ).scalars()
        return [orjson.loads(p) for p in rows]


async def notification_events(system: Running, kind: str) -> list[dict[str, Any]]:
    """The notification.v1 events of one kind."""
    return [e for e in await bus_events(system.runtime, NOTIFICATION) if e["data"]["kind"] == kind]


async def late_reports(runtime: Runtime) -> list[LateReport]:
    async with runtime.sessionmaker() as session:
        return list((await session.execute(select(LateReport))).scalars())


async def deliveries(runtime: Runtime, notification_id: str) -> list[Delivery]:
    async with runtime.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(Delivery)
                    .where(Delivery.notification_id == notification_id)
                    .order_by(Delivery.id)
                )
            ).scalars()
        )


def when(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value in the Prometheus exposition, 0 if absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == wanted:
            return float(m.group(2))
    return 0.0


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


# ------------------------------------------------------------------- listing and deadline


async def test_a_level1_warning_makes_a_responsible_notification_and_its_copies(
    embedded: Running,
) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    items = await notifications_of(embedded, incident_id, at_least=3)
    assert len(items) == 3
    responsible = one(items, body_id=ZHUSHAN)
    copy = one(items, body_id=COUNTY)
    government = one(items, body_id=ZHUSHAN_GOV)
    assert government["kind"] == "copy" and government["closed_reason"] == "copy"

    assert responsible["kind"] == "responsible"
    assert responsible["incident_id"] == incident_id
    assert responsible["jurisdiction"] == "xuanen"
    assert responsible["level"] == "level1" and responsible["level_label"] == "一级预警"
    assert responsible["status"] == "pending"
    assert responsible["acknowledged_at"] is None and responsible["late"] is False
    assert responsible["escalated_from"] is None
    assert responsible["escalation_chain"] == [COUNTY, PREFECTURE]
    assert responsible["drill"] is False
    issued = when(responsible["issued_at"])
    assert when(responsible["due_at"]) - issued == dt.timedelta(hours=6)
    assert responsible["due_at"].endswith("+08:00")  # shown in Asia/Shanghai

    # The deadline runs from the warning's own issue time.
    (warning_event,) = [
        e
        for e in await bus_events(embedded.runtime, INCIDENT_WARNING)
        if e["subject"] == incident_id
    ]
    warning = warning_event["data"]["warning"]
    assert when(warning["issued_at"]) == issued
    assert when(warning["due_at"]) == when(responsible["due_at"])

    assert copy["kind"] == "copy"
    # A copy needs no acknowledgement: it is closed as soon as it is made.
    assert copy["due_at"] is None and copy["status"] == "closed"
    assert copy["closed_reason"] == "copy" and copy["closed_at"] is not None
    assert copy["escalation_chain"] == []
    assert when(copy["issued_at"]) == issued


async def test_filters_by_body_and_status(embedded: Running) -> None:
    first = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    second = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    await notifications_of(embedded, first, at_least=3)
    ours = await notifications_of(embedded, second, at_least=3)
    admin = embedded.auth()

    at_zhushan = await listing(embedded.client, admin, body_id=ZHUSHAN)
    assert len(at_zhushan) == 2 and {n["body_id"] for n in at_zhushan} == {ZHUSHAN}
    at_county = await listing(embedded.client, admin, body_id=COUNTY)
    assert len(at_county) == 2 and {n["kind"] for n in at_county} == {"copy"}

    target = one(ours, body_id=ZHUSHAN)
    acked = await embedded.client.post(
        f"/v1/notifications/{target['id']}/ack", json={}, headers=admin
    )
    assert acked.status_code == 200, acked.text
    done = await listing(embedded.client, admin, status="acknowledged")
    assert [n["id"] for n in done] == [target["id"]]
    pending = await listing(embedded.client, admin, status="pending")
    assert len(pending) == 1 and target["id"] not in {n["id"] for n in pending}
    copies = await listing(embedded.client, admin, status="closed", closed_reason="copy")
    assert len(copies) == 4 and {n["body_id"] for n in copies} == {COUNTY, ZHUSHAN_GOV}
    assert await listing(embedded.client, admin, status="overdue") == []
    both = await listing(embedded.client, admin, body_id=ZHUSHAN, status="pending")
    assert [n["incident_id"] for n in both] == [first]
    assert await listing(embedded.client, admin, incident_id=str(uuid.uuid4())) == []

    bad = await embedded.client.get("/v1/notifications", params={"status": "lost"}, headers=admin)
    assert "status" in is_problem(bad, 422)["detail"]
    bad = await embedded.client.get(
        "/v1/notifications", params={"closed_reason": "forgotten"}, headers=admin
    )
    assert "closed_reason" in is_problem(bad, 422)["detail"]


async def test_pages_follow_the_cursor_newest_first(embedded: Running) -> None:
    made = []
    for _ in range(3):
        incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
        await notifications_of(embedded, incident_id, at_least=3)
        made.append(incident_id)
    admin = embedded.auth()
    everything = await listing(embedded.client, admin)
    assert len(everything) == 9

    first = await embedded.client.get("/v1/notifications", params={"limit": 4}, headers=admin)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 4 and first.json()["next_cursor"]
    rest = await embedded.client.get(
        "/v1/notifications",
        params={"limit": 5, "cursor": first.json()["next_cursor"]},
        headers=admin,
    )
    assert len(rest.json()["items"]) == 5 and rest.json()["next_cursor"] is None
    paged = [n["id"] for n in first.json()["items"] + rest.json()["items"]]
    assert paged == [n["id"] for n in everything]
    assert len(set(paged)) == 9

    by_two = await listing(embedded.client, admin, limit=2)
    assert [n["id"] for n in by_two] == paged
    # Newest first: the last incident's notifications lead.
    assert list(dict.fromkeys(n["incident_id"] for n in by_two)) == made[::-1]
    created = [n["issued_at"] for n in by_two]
    assert created == sorted(created, reverse=True)

    bad_cursor = await embedded.client.get(
        "/v1/notifications", params={"cursor": "not-a-cursor"}, headers=admin
    )
    is_problem(bad_cursor, 400)


# ------------------------------------------------------------------------ acknowledgement


async def test_the_body_acknowledges_once_and_others_may_not(embedded: Running) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    items = await notifications_of(embedded, incident_id, at_least=2)
    target = one(items, body_id=ZHUSHAN)
    url = f"/v1/notifications/{target['id']}/ack"
    zhushan = await responder(embedded, ZHUSHAN)
    county = await responder(embedded, COUNTY)

    is_problem(await embedded.client.post(url, json={}, headers=county), 403)
    is_problem(await embedded.client.post(url, json={}, headers=embedded.auth("analyst")), 403)
    is_problem(
        await embedded.client.post(url, json={}, headers=embedded.auth("analyst_xuanen")), 403
    )
    is_problem(await embedded.client.post(url, json={}, headers=embedded.auth("reporter")), 403)
    is_problem(await embedded.client.post(url, json={}), 401)
    unknown = await embedded.client.post(
        "/v1/notifications/00000000-0000-0000-0000-000000000000/ack", json={}, headers=zhushan
    )
    is_problem(unknown, 404)
    extra = await embedded.client.post(url, json={"note": "收到", "urgent": True}, headers=zhushan)
    assert is_problem(extra, 422)["errors"]
    still = one(
        await listing(embedded.client, embedded.auth(), incident_id=incident_id), id=target["id"]
    )
    assert still["status"] == "pending"  # nothing half-done by the refusals

    before = dt.datetime.now(dt.UTC)
    ok = await embedded.client.post(url, json={"note": "已收到，正在处置"}, headers=zhushan)
    after = dt.datetime.now(dt.UTC)
    assert ok.status_code == 200, ok.text
    acked = ok.json()
    assert acked["id"] == target["id"]
    assert acked["status"] == "acknowledged"
    assert acked["late"] is False
    # Who acknowledged: the key (and the body it acts for), with the note and the way.
    assert acked["acknowledged_by"] == f"responder {ZHUSHAN} ({ZHUSHAN})"
    assert before <= when(acked["acknowledged_at"]) <= after
    assert acked["acknowledgement"] == {
        "at": acked["acknowledged_at"],
        "by": f"responder {ZHUSHAN} ({ZHUSHAN})",
        "note": "已收到，正在处置",
        "via": "api",
    }

    again = await embedded.client.post(url, json={"note": "再次确认"}, headers=zhushan)
    assert again.status_code == 200, again.text
    assert again.json() == acked  # unchanged

    listed = one(
        await listing(embedded.client, embedded.auth(), incident_id=incident_id), id=target["id"]
    )
    assert listed == acked

    async with embedded.runtime.sessionmaker() as session:
        row = await session.get(Notification, target["id"])
        assert row is not None
        assert row.ack_note == "已收到，正在处置"
        assert row.next_reminder_at is None


async def test_an_admin_may_acknowledge_without_a_body(embedded: Running) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    target = one(await notifications_of(embedded, incident_id, at_least=2), body_id=ZHUSHAN)
    ok = await embedded.client.post(
        f"/v1/notifications/{target['id']}/ack", headers=embedded.auth()
    )  # no body at all
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "acknowledged"
    assert ok.json()["acknowledged_by"].startswith("admin")


async def test_a_responder_of_another_jurisdiction_is_refused_with_403(
    embedded: Running,
) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    target = one(await notifications_of(embedded, incident_id, at_least=2), body_id=ZHUSHAN)
    refused = await embedded.client.post(
        f"/v1/notifications/{target['id']}/ack", json={}, headers=embedded.auth("responder")
    )
    assert refused.status_code == 403, refused.text


async def test_a_responder_sees_only_its_bodys_notifications(embedded: Running) -> None:
    xuanen = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    changchun = await incident_id_of(embedded, await submit(embedded, changchun_blue()))
    await notifications_of(embedded, xuanen, at_least=3)
    await notifications_of(embedded, changchun, at_least=1)

    # A township's body reads its township's notifications (the copies too).
    zhushan = await listing(embedded.client, await responder(embedded, ZHUSHAN))
    assert sorted(n["body_id"] for n in zhushan) == [COUNTY, ZHUSHAN_GOV, ZHUSHAN]
    # A body without a region reads its jurisdiction.
    county = await listing(embedded.client, await responder(embedded, COUNTY))
    assert sorted(n["body_id"] for n in county) == [COUNTY, ZHUSHAN_GOV, ZHUSHAN]
    office = await listing(embedded.client, embedded.auth("responder"))
    assert [(n["body_id"], n["incident_id"]) for n in office] == [(OFFICE, changchun)]
    # Another township's body reads nothing of zhushan's, even asking by body.
    gaoluo = await responder(embedded, "xuanen.gaoluo.tripartite")
    assert await listing(embedded.client, gaoluo) == []
    assert await listing(embedded.client, gaoluo, body_id=ZHUSHAN) == []
    # An analyst sees its own jurisdiction only.
    analyst = await listing(embedded.client, embedded.auth("analyst_xuanen"))
    assert {n["jurisdiction"] for n in analyst} == {"xuanen"} and len(analyst) == 3
    is_problem(
        await embedded.client.get("/v1/notifications", headers=embedded.auth("reporter")), 403
    )


async def test_on_time_statistics_count_responsible_notifications(embedded: Running) -> None:
    ids = [
        await incident_id_of(embedded, await submit(embedded, xuanen_report())) for _ in range(2)
    ]
    targets = [one(await notifications_of(embedded, i, at_least=2), body_id=ZHUSHAN) for i in ids]

    stats = await embedded.client.get("/v1/notifications/on-time", headers=embedded.auth())
    assert stats.status_code == 200, stats.text
    assert stats.json()["items"] == [
        {
            "body_id": ZHUSHAN,
            "total": 2,
            "acknowledged_on_time": 0,
            "acknowledged_late": 0,
            "overdue": 0,
            "pending": 2,
            "on_time_rate": None,
        }
    ]  # copies hold no deadline and are not counted

    ack = await embedded.client.post(
        f"/v1/notifications/{targets[0]['id']}/ack", json={}, headers=embedded.auth()
    )
    assert ack.status_code == 200
    stats = await embedded.client.get(
        "/v1/notifications/on-time", params={"jurisdiction": "xuanen"}, headers=embedded.auth()
    )
    (row,) = stats.json()["items"]
    assert (row["total"], row["acknowledged_on_time"], row["pending"]) == (2, 1, 1)
    assert row["on_time_rate"] == 1.0

    analyst = await embedded.client.get(
        "/v1/notifications/on-time", headers=embedded.auth("analyst_xuanen")
    )
    assert [r["body_id"] for r in analyst.json()["items"]] == [ZHUSHAN]
    elsewhere = await embedded.client.get(
        "/v1/notifications/on-time", headers=embedded.auth("analyst")
    )
    assert elsewhere.status_code == 200 and elsewhere.json()["items"] == []
    is_problem(
        await embedded.client.get(
            "/v1/notifications/on-time",
            params={"jurisdiction": "xuanen"},
            headers=embedded.auth("analyst"),
        ),
        403,
    )


async def test_acknowledgement_is_announced_and_lands_in_the_timeline(embedded: Running) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    target = one(await notifications_of(embedded, incident_id, at_least=3), body_id=ZHUSHAN)

    async def timeline_kinds() -> list[str]:
        got = await embedded.client.get(f"/v1/incidents/{incident_id}", headers=embedded.auth())
        assert got.status_code == 200, got.text
        return [e["kind"] for e in got.json()["timeline"]]

    async def both_sent() -> list[str] | None:
        kinds = await timeline_kinds()
        return kinds if kinds.count("notification_sent") == 3 else None

    await eventually(both_sent)
    ok = await embedded.client.post(
        f"/v1/notifications/{target['id']}/ack",
        json={},
        headers=await responder(embedded, ZHUSHAN),
    )
    assert ok.status_code == 200

    async def announced() -> list[dict[str, Any]]:
        return [
            e
            for e in await notification_events(embedded, "acknowledged")
            if e["subject"] == target["id"]
        ]

    (event,) = await eventually(announced)
    assert event["type"] == "laborwatch.notification.v1"
    assert event["data"]["incident_id"] == incident_id
    assert event["data"]["notification"]["status"] == "acknowledged"
    assert event["data"]["notification"]["body_id"] == ZHUSHAN
    sent = [
        e["data"]["notification"]["body_id"]
        for e in await notification_events(embedded, "sent")
        if e["data"]["incident_id"] == incident_id
    ]
    assert sorted(sent) == [COUNTY, ZHUSHAN_GOV, ZHUSHAN]

    async def acknowledged_in_timeline() -> dict[str, Any] | None:
        got = await embedded.client.get(f"/v1/incidents/{incident_id}", headers=embedded.auth())
        entries = [e for e in got.json()["timeline"] if e["kind"] == "notification_acknowledged"]
        return entries[0] if entries else None

    entry = await eventually(acknowledged_in_timeline)
    assert entry["actor"] == "notifier"
    assert entry["detail"]["notification_id"] == target["id"]
    assert entry["detail"]["body_id"] == ZHUSHAN
    assert entry["detail"]["status"] == "acknowledged"
    detail = await embedded.client.get(f"/v1/incidents/{incident_id}", headers=embedded.auth())
    assert detail.json()["timeline_intact"] is True


async def test_the_docs_list_the_notifier_routes(embedded: Running) -> None:
    spec = (await embedded.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert "get" in paths["/v1/notifications"]
    assert "post" in paths["/v1/notifications/{notification_id}/ack"]
    assert "get" in paths["/v1/notifications/on-time"]
    assert {"get", "put"} <= set(paths["/v1/bodies/{body_id}/channels"])
    assert spec["components"]["schemas"]["NotificationOut"].get("examples")


# ------------------------------------------------------------------------- escalation


async def test_an_unacknowledged_warning_climbs_the_chain_to_the_top(sqlite_url: str) -> None:
    settings = make_settings(
        database_url=sqlite_url, time_scale=LEVEL1_IN_1S, deadline_poll_seconds=0.05
    )
    async with running(settings) as drill:
        before = (await drill.client.get("/metrics")).text
        incident_id = await incident_id_of(drill, await submit(drill, xuanen_report()))

        async def at_top() -> list[dict[str, Any]] | None:
            items = await listing(drill.client, drill.auth(), incident_id=incident_id)
            top = [n for n in items if n["body_id"] == PREFECTURE]
            return items if top and top[0]["status"] == "overdue" else None

        items = await eventually(at_top, timeout=10)
        responsible = [n for n in items if n["kind"] == "responsible"]
        assert len(responsible) == 3  # nothing above the prefecture
        town = one(responsible, body_id=ZHUSHAN)
        county = one(responsible, body_id=COUNTY)
        prefecture = one(responsible, body_id=PREFECTURE)
        assert [n["status"] for n in (town, county, prefecture)] == ["overdue"] * 3
        assert town["escalated_from"] is None
        assert county["escalated_from"] == town["id"]
        assert prefecture["escalated_from"] == county["id"]
        assert county["escalation_chain"] == [PREFECTURE] and prefecture["escalation_chain"] == []
        assert all(n["drill"] for n in responsible)
        assert all(n["level"] == "level1" for n in responsible)
        # Each body up gets the level's full (scaled) limit from when it is told.
        for lower, upper in ((town, county), (county, prefecture)):
            assert when(upper["due_at"]) - when(upper["issued_at"]) == dt.timedelta(seconds=1)
            assert when(upper["issued_at"]) >= when(lower["due_at"])
        # The copies (county, township government) stay copies: no deadline, never overdue.
        copies = [n for n in items if n["kind"] == "copy"]
        assert sorted(n["body_id"] for n in copies) == [COUNTY, ZHUSHAN_GOV]
        assert {n["status"] for n in copies} == {"closed"}

        lates = {r.notification_id: r for r in await late_reports(drill.runtime)}
        assert set(lates) == {town["id"], county["id"], prefecture["id"]}
        for n in (town, county, prefecture):
            late = lates[n["id"]]
            assert late.body_id == n["body_id"] and late.incident_id == incident_id
            assert late.due_at == when(n["due_at"])
            assert late.detected_at >= late.due_at
            assert late.acknowledged_at is None

        async def announced() -> tuple[list[str], list[str]] | None:
            overdue = [
                e["subject"]
                for e in await notification_events(drill, "overdue")
                if e["data"]["incident_id"] == incident_id
            ]
            escalated = [
                e["subject"]
                for e in await notification_events(drill, "escalated")
                if e["data"]["incident_id"] == incident_id
            ]
            return (overdue, escalated) if len(overdue) == 3 and len(escalated) == 2 else None

        overdue, escalated = await eventually(announced)
        assert sorted(overdue) == sorted([town["id"], county["id"], prefecture["id"]])
        assert escalated == [town["id"], county["id"]]
        escalations = [
            e["data"]
            for e in await notification_events(drill, "escalated")
            if e["data"]["incident_id"] == incident_id
        ]
        assert [(d["escalated_to"], d["to_body_id"]) for d in escalations] == [
            (county["id"], COUNTY),
            (prefecture["id"], PREFECTURE),
        ]

        after = (await drill.client.get("/metrics")).text
        grew = {
            name: metric(after, name, jurisdiction="xuanen")
            - metric(before, name, jurisdiction="xuanen")
            for name in ("laborwatch_escalations_total", "laborwatch_notifications_overdue_total")
        }
        assert grew == {
            "laborwatch_escalations_total": 2,
            "laborwatch_notifications_overdue_total": 3,
        }

        # The town acknowledges at last: late, and its late report says when.
        ack = await drill.client.post(
            f"/v1/notifications/{town['id']}/ack",
            json={"note": "迟报说明"},
            headers=await responder(drill, ZHUSHAN),
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["status"] == "acknowledged" and ack.json()["late"] is True
        lates = {r.notification_id: r for r in await late_reports(drill.runtime)}
        assert lates[town["id"]].acknowledged_at == when(ack.json()["acknowledged_at"])
        assert lates[county["id"]].acknowledged_at is None

        stats = await drill.client.get(
            "/v1/notifications/on-time", params={"jurisdiction": "xuanen"}, headers=drill.auth()
        )
        by_body = {r["body_id"]: r for r in stats.json()["items"]}
        assert by_body[ZHUSHAN]["acknowledged_late"] == 1
        assert by_body[ZHUSHAN]["on_time_rate"] == 0.0
        assert by_body[COUNTY]["overdue"] == 1 and by_body[PREFECTURE]["overdue"] == 1


# -------------------------------------------------------------------------- reminders


async def test_an_acknowledgement_stops_reminders_and_the_deadline(sqlite_url: str) -> None:
    # Blue's 24 h last 10 s: the first notice is acknowledged before its first reminder (at
    # half its time) even on a busy machine; its twin, left alone, is reminded and falls due.
    settings = make_settings(
        database_url=sqlite_url, time_scale=BLUE_IN_10S, deadline_poll_seconds=0.05
    )
    async with running(settings) as drill:
        put = await drill.client.put(
            f"/v1/bodies/{OFFICE}/channels",
            json={"channels": [{"type": "sms", "target": "13800138000"}]},
            headers=drill.auth(),
        )
        assert put.status_code == 200, put.text
        acked_incident = await incident_id_of(drill, await submit(drill, changchun_blue()))
        (acked,) = await notifications_of(drill, acked_incident)
        ok = await drill.client.post(
            f"/v1/notifications/{acked['id']}/ack", json={}, headers=drill.auth("responder")
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["reminders_sent"] == 0, "acknowledged too late for this test"
        assert ok.json()["late"] is False

        twin_incident = await incident_id_of(drill, await submit(drill, changchun_blue()))
        (twin,) = await notifications_of(drill, twin_incident)
        assert acked["body_id"] == OFFICE == twin["body_id"]
        assert when(acked["due_at"]) - when(acked["issued_at"]) == dt.timedelta(seconds=10)

        # The twin's deadline passing shows the clock has run past both deadlines.
        async def twin_overdue() -> dict[str, Any] | None:
            found = one(
                await listing(drill.client, drill.auth(), incident_id=twin_incident), id=twin["id"]
            )
            return found if found["status"] == "overdue" else None

        late_twin = await eventually(twin_overdue, timeout=30)
        assert late_twin["reminders_sent"] == 2
        assert dt.datetime.now(dt.UTC) > when(acked["due_at"])

        now_acked = one(
            await listing(drill.client, drill.auth(), incident_id=acked_incident), id=acked["id"]
        )
        assert now_acked["status"] == "acknowledged"
        assert now_acked["reminders_sent"] == 0 and now_acked["late"] is False
        assert [d.purpose for d in await deliveries(drill.runtime, acked["id"])] == ["notice"]

        async def twin_reminders_sent() -> list[Delivery] | None:
            found = [
                d for d in await deliveries(drill.runtime, twin["id"]) if d.purpose == "reminder"
            ]
            return found if len(found) == 2 and all(d.status == "sent" for d in found) else None

        sent = await eventually(twin_reminders_sent)
        assert all(d.channel == "sms" for d in sent)
        reminded = {e["subject"] for e in await notification_events(drill, "reminded")}
        assert twin["id"] in reminded and acked["id"] not in reminded
        lates = {r.notification_id for r in await late_reports(drill.runtime)}
        assert twin["id"] in lates and acked["id"] not in lates


# ----------------------------------------------------------------------------- restart


async def test_a_deadline_passed_while_stopped_fires_once_after_a_restart(
    sqlite_url: str,
) -> None:
    # Level1's 6 h lasts 3 s, the county's 2 h after the escalation 1 s.
    settings = make_settings(database_url=sqlite_url, time_scale=7200, deadline_poll_seconds=0.05)
    async with running(settings) as first:
        incident_id = await incident_id_of(first, await submit(first, xuanen_report()))
        town = one(await notifications_of(first, incident_id, at_least=2), body_id=ZHUSHAN)
        admin_key = first.keys["admin"]
        assert dt.datetime.now(dt.UTC) < when(town["due_at"]), "the first run was too slow"
    due = when(town["due_at"])
    try:
        async with first.runtime.sessionmaker() as session:
            row = await session.get(Notification, town["id"])
            assert row is not None and row.status == "pending"
    finally:
        await first.runtime.engine.dispose()

    # Nobody watches the clock while the deadline passes.
    await asyncio.sleep(max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds()) + 0.3)

    runtime = Runtime.from_settings(settings)
    app = apps.all_in_one(runtime)
    admin = {"Authorization": f"Bearer {admin_key}"}
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def escalated() -> list[dict[str, Any]] | None:
                items = await listing(client, admin, incident_id=incident_id)
                up = [n for n in items if n["escalated_from"] == town["id"]]
                return items if up else None

            items = await eventually(escalated, timeout=10)
            assert one(items, id=town["id"])["status"] == "overdue"
            (up,) = [n for n in items if n["escalated_from"] == town["id"]]
            assert up["body_id"] == COUNTY and up["kind"] == "responsible"
            restarted_at = when(up["issued_at"])
            assert restarted_at > due

            # Several more ticks of the clock (six polls) change nothing for the town's deadline.
            ticks = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
            assert ticks < when(up["due_at"])
            await asyncio.sleep(0.3)
            items = await listing(client, admin, incident_id=incident_id)
            assert len([n for n in items if n["escalated_from"] == town["id"]]) == 1
            lates = [r for r in await late_reports(runtime) if r.incident_id == incident_id]
            assert [r.notification_id for r in lates] == [town["id"]]
            assert lates[0].due_at == due
            assert lates[0].detected_at == restarted_at  # found by the new process

            async def announced() -> list[dict[str, Any]]:
                return [
                    e
                    for e in await bus_events(runtime, NOTIFICATION)
                    if e["data"]["kind"] in ("overdue", "escalated") and e["subject"] == town["id"]
                ]

            async def both_announced() -> bool:
                return len(await announced()) >= 2

            await eventually(both_announced)
            await asyncio.sleep(0.3)  # a second firing would announce again by now
            kinds = sorted(e["data"]["kind"] for e in await announced())
            assert kinds == ["escalated", "overdue"]

"""A notification's life as the contract (v1.1, "Changes to v1 behaviour") has it: a rising
level closes what it replaces, acknowledgements are shown, and who reads what follows the one
access rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from libs.common.events import NOTIFICATION
from tests.conftest import Running, eventually, make_settings, running, submit
from tests.integration.test_notifier_api import (
    COUNTY,
    OFFICE,
    PREFECTURE,
    ZHUSHAN,
    bus_events,
    changchun_blue,
    incident_id_of,
    is_problem,
    listing,
    notification_events,
    notifications_of,
    one,
    responder,
    when,
    xuanen_report,
)

LEADING_GROUP = "changchun.leading_group"
# Changchun blue (24 h) lasts 12 s, yellow (6 h) 3 s, red (1 h) 0.5 s.
SCALE = 7200


async def test_a_rising_level_closes_the_earlier_notices_and_they_never_escalate(
    sqlite_url: str,
) -> None:
    settings = make_settings(database_url=sqlite_url, time_scale=SCALE, deadline_poll_seconds=0.05)
    async with running(settings) as drill:
        enterprise = {"name": f"长春{uuid.uuid4().hex[:6]}升级劳务有限公司"}
        incident_id = await incident_id_of(
            drill, await submit(drill, changchun_blue(enterprise=enterprise))
        )
        (blue,) = await notifications_of(drill, incident_id)
        await submit(drill, changchun_blue(enterprise=enterprise, workers_involved=25))

        async def level(name: str) -> dict[str, Any]:
            async def issued() -> dict[str, Any] | None:
                items = await listing(drill.client, drill.auth(), incident_id=incident_id)
                found = [n for n in items if n["level"] == name and not n["escalated_from"]]
                return found[0] if found else None

            return await eventually(issued)  # type: ignore[no-any-return]

        yellow = await level("yellow")
        await submit(drill, changchun_blue(enterprise=enterprise, workers_involved=60))
        red = await level("red")
        assert red["body_id"] == LEADING_GROUP and red["status"] == "pending"

        # Past the yellow's deadline (and long past the red's): only the red is held to one.
        await asyncio.sleep(
            max(0.0, (when(yellow["due_at"]) - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5
        )
        items = await listing(drill.client, drill.auth(), incident_id=incident_id)
        for stale in (blue, yellow):
            now = one(items, id=stale["id"])
            assert now["status"] == "closed" and now["closed_reason"] == "superseded", now
            assert now["closed_at"] is not None and now["acknowledged_at"] is None
            assert not [n for n in items if n["escalated_from"] == stale["id"]]
        assert one(items, id=red["id"])["status"] == "overdue"  # the red one did run out

        pending = await listing(drill.client, drill.auth(), status="pending")
        assert not {blue["id"], yellow["id"]} & {n["id"] for n in pending}
        superseded = await listing(
            drill.client, drill.auth(), status="closed", closed_reason="superseded"
        )
        assert {n["id"] for n in superseded} >= {blue["id"], yellow["id"]}
        closed = [
            e["data"]
            for e in await notification_events(drill, "closed")
            if e["subject"] == blue["id"]
        ]
        assert [d["notification"]["closed_reason"] for d in closed] == ["superseded"]
        overdue = {e["subject"] for e in await notification_events(drill, "overdue")}
        assert blue["id"] not in overdue and yellow["id"] not in overdue

        # A closed notification takes no acknowledgement.
        refused = await drill.client.post(
            f"/v1/notifications/{blue['id']}/ack", json={}, headers=drill.auth("responder")
        )
        is_problem(refused, 409)
        stats = await drill.client.get(
            "/v1/notifications/on-time", params={"jurisdiction": "changchun"}, headers=drill.auth()
        )
        by_body = {r["body_id"]: r for r in stats.json()["items"]}
        assert OFFICE not in by_body  # nothing the office owed: it was replaced in time


async def test_the_acknowledgement_is_shown_and_published(embedded: Running) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    target = one(await notifications_of(embedded, incident_id, at_least=2), body_id=ZHUSHAN)
    ok = await embedded.client.post(
        f"/v1/notifications/{target['id']}/ack",
        json={"note": "已派员到场"},
        headers=await responder(embedded, ZHUSHAN),
    )
    assert ok.status_code == 200, ok.text
    ack = ok.json()["acknowledgement"]
    assert ack["note"] == "已派员到场" and ack["via"] == "api"
    assert ack["by"] == f"responder {ZHUSHAN} ({ZHUSHAN})"  # the key, not only the body
    assert ack["at"] == ok.json()["acknowledged_at"]

    by_id = await embedded.client.get(
        f"/v1/notifications/{target['id']}", headers=embedded.auth("analyst_xuanen")
    )
    assert by_id.status_code == 200 and by_id.json()["acknowledgement"] == ack

    async def published() -> list[dict[str, Any]]:
        return [
            e["data"]["notification"]
            for e in await notification_events(embedded, "acknowledged")
            if e["subject"] == target["id"]
        ]

    (data,) = await eventually(published)
    assert data["acknowledgement"]["note"] == "已派员到场"
    assert data["acknowledgement"]["by"] == ack["by"] and data["acknowledgement"]["via"] == "api"


async def test_who_reads_a_notification_follows_the_access_rule(embedded: Running) -> None:
    incident_id = await incident_id_of(embedded, await submit(embedded, xuanen_report()))
    items = await notifications_of(embedded, incident_id, at_least=2)
    town, copy = one(items, body_id=ZHUSHAN), one(items, body_id=COUNTY)
    changchun = await incident_id_of(embedded, await submit(embedded, changchun_blue()))
    (office,) = await notifications_of(embedded, changchun)
    assert town["regions"] == ["zhushan"]

    async def read(headers: dict[str, str], notification_id: str) -> int:
        got = await embedded.client.get(f"/v1/notifications/{notification_id}", headers=headers)
        return got.status_code

    zhushan = await responder(embedded, ZHUSHAN)
    assert await read(zhushan, copy["id"]) == 200  # its region's, though sent to the county
    assert await read(zhushan, office["id"]) == 403
    gaoluo = await responder(embedded, "xuanen.gaoluo.tripartite")
    assert await read(gaoluo, town["id"]) == 403
    # An analyst reading another jurisdiction's notification by id gets 403, not 404.
    assert await read(embedded.auth("analyst"), town["id"]) == 403
    assert await read(embedded.auth("analyst_xuanen"), town["id"]) == 200
    assert await read(embedded.auth(), str(uuid.uuid4())) == 404

    # An external body reads only what it was sent, and keeps no channels.
    prefecture = await responder(embedded, PREFECTURE)
    assert await listing(embedded.client, prefecture) == []
    assert await read(prefecture, town["id"]) == 403
    put = await embedded.client.put(
        f"/v1/bodies/{PREFECTURE}/channels",
        json={"channels": [{"type": "sms", "target": "13800138000"}]},
        headers=prefecture,
    )
    is_problem(put, 403)
    # A responder of the same region may read the county's copy but not acknowledge for it.
    ack = await embedded.client.post(f"/v1/notifications/{town['id']}/ack", json={}, headers=gaoluo)
    is_problem(ack, 403)


async def test_an_external_body_acknowledges_what_it_was_sent(sqlite_url: str) -> None:
    # Level1's 6 h lasts 0.5 s: the warning climbs to the prefecture (external) quickly.
    settings = make_settings(database_url=sqlite_url, time_scale=43200, deadline_poll_seconds=0.05)
    async with running(settings) as drill:
        incident_id = await incident_id_of(drill, await submit(drill, xuanen_report()))

        async def at_prefecture() -> dict[str, Any] | None:
            items = await listing(drill.client, drill.auth(), incident_id=incident_id)
            found = [n for n in items if n["body_id"] == PREFECTURE]
            return found[0] if found else None

        top = await eventually(at_prefecture, timeout=10)
        prefecture = await responder(drill, PREFECTURE)
        mine = await listing(drill.client, prefecture)
        assert [n["id"] for n in mine] == [top["id"]]
        ok = await drill.client.post(
            f"/v1/notifications/{top['id']}/ack", json={"note": "州三方已知悉"}, headers=prefecture
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["acknowledgement"]["by"] == f"responder {PREFECTURE} ({PREFECTURE})"
        keys = {
            e["partitionkey"]
            for e in await bus_events(drill.runtime, NOTIFICATION)
            if e["data"]["incident_id"] == incident_id
        }
        # One key for every event of the incident: its enterprise's (jurisdiction:name).
        assert len(keys) == 1 and next(iter(keys)).startswith("xuanen:")

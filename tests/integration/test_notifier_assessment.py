"""A level the leading group sets or lifts closes the notifications still pending (`lifted`):
an assessment is not an acknowledgement, and none is faked."""

from __future__ import annotations

from typing import Any

from tests.conftest import Running, eventually


async def notifications(system: Running, incident_id: str) -> list[dict[str, Any]]:
    page = await system.client.get(
        "/v1/notifications", params={"incident_id": incident_id}, headers=system.auth()
    )
    return [n for n in page.json()["items"] if n["kind"] == "responsible"]


async def test_a_lowered_then_lifted_warning_closes_what_was_pending(embedded: Running) -> None:
    body = {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春评估有限公司"},
        "category": "wage_arrears",
        "workers_involved": 60,
    }
    r = await embedded.client.post("/v1/reports", json=body, headers=embedded.auth())
    report_id = r.json()["id"]

    async def incident_id() -> str | None:
        got = await embedded.client.get(f"/v1/reports/{report_id}", headers=embedded.auth())
        return got.json()["incident_id"]  # type: ignore[no-any-return]

    iid = await eventually(incident_id)
    red = (await eventually(lambda: notifications(embedded, iid)))[0]
    assert red["level"] == "red" and red["status"] == "pending"

    url = f"/v1/incidents/{iid}/assessment"
    lowered = await embedded.client.post(
        url,
        json={"decision": "set_level", "level": "blue", "reason": "核实人数较少"},
        headers=embedded.auth(),
    )
    assert lowered.status_code == 200

    async def replaced() -> list[dict[str, Any]] | None:
        items = await notifications(embedded, iid)
        return items if len(items) == 2 and any(n["level"] == "blue" for n in items) else None

    items = {n["level"]: n for n in await eventually(replaced)}
    assert items["red"]["status"] == "closed"
    assert items["red"]["closed_reason"] == "lifted"
    assert items["red"]["acknowledged_at"] is None and items["red"]["acknowledgement"] is None
    assert items["blue"]["status"] == "pending"
    assert items["blue"]["body_id"] == "changchun.leading_group_office"

    lifted = await embedded.client.post(
        url,
        json={"decision": "set_level", "level": None, "reason": "欠薪已结清"},
        headers=embedded.auth(),
    )
    assert lifted.json()["level"] is None

    async def none_pending() -> bool:
        items = await notifications(embedded, iid)
        return len(items) == 2 and all(n["status"] == "closed" for n in items)

    await eventually(none_pending)
    items = {n["level"]: n for n in await notifications(embedded, iid)}
    assert items["blue"]["closed_reason"] == "lifted"
    assert items["blue"]["acknowledged_at"] is None
    pending = await embedded.client.get(
        "/v1/notifications",
        params={"incident_id": iid, "status": "pending"},
        headers=embedded.auth(),
    )
    assert pending.json()["items"] == []
    lifted = await embedded.client.get(
        "/v1/notifications",
        params={"incident_id": iid, "closed_reason": "lifted"},
        headers=embedded.auth(),
    )
    assert {n["level"] for n in lifted.json()["items"]} == {"red", "blue"}

"""Review meetings: recorded once per Idempotency-Key, listed, read, checked, and in the
hash-chained timeline of each incident they discussed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import Running, a_report, assert_problem, eventually, submit
from tests.integration.insight_mix import incident_of


async def known_to_insight(system: Running, incident_id: str) -> None:
    """Wait until insight's read model holds the incident (reviews check it there)."""

    async def check() -> bool:
        r = await system.client.get(
            "/v1/statistics",
            params={"jurisdiction": "changchun", "from": "2026-01-01", "to": "2030-12-31"},
            headers=system.auth(),
        )
        return bool(r.json()["incidents"]["total"])

    await eventually(check)


def a_review(incident_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "jurisdiction": "changchun",
        "held_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat(),
        "kind": "special",
        "attendees": ["领导小组办公室 王五", "市总工会 赵六"],
        "incident_ids": [incident_id],
        "conclusions": "欠薪风险可控，责令企业限期支付。",
        "measures": "住建部门督促总包单位垫付。",
    }
    body.update(overrides)
    return body


async def test_a_review_is_recorded_listed_and_in_the_timeline(embedded: Running) -> None:
    system = embedded
    incident = await incident_of(system, await submit(system, a_report()))
    await known_to_insight(system, incident)
    headers = system.auth("analyst") | {"Idempotency-Key": "review-1"}
    body = a_review(incident)
    r = await system.client.post("/v1/reviews", json=body, headers=headers)
    assert r.status_code == 201, r.text
    review = r.json()
    again = await system.client.post("/v1/reviews", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == review["id"]
    other = body | {"kind": "regular"}
    assert_problem(await system.client.post("/v1/reviews", json=other, headers=headers), 409)

    listed = await system.client.get(
        "/v1/reviews", params={"jurisdiction": "changchun"}, headers=system.auth("analyst")
    )
    assert [x["id"] for x in listed.json()["items"]] == [review["id"]]
    one = await system.client.get(f"/v1/reviews/{review['id']}", headers=system.auth("responder"))
    assert one.json()["conclusions"] == "欠薪风险可控，责令企业限期支付。"
    r = await system.client.get(
        f"/v1/reviews/{review['id']}", headers=system.auth("analyst_xuanen")
    )
    assert_problem(r, 403)

    async def in_timeline() -> dict[str, Any] | None:
        r = await system.client.get(f"/v1/incidents/{incident}", headers=system.auth())
        body: dict[str, Any] = r.json()
        entries = [e for e in body["timeline"] if e["kind"] == "review_held"]
        return body if entries else None

    detail = await eventually(in_timeline)
    assert detail["timeline_intact"] is True
    entry = next(e for e in detail["timeline"] if e["kind"] == "review_held")
    assert entry["detail"]["review_id"] == review["id"]
    assert entry["note"] == "欠薪风险可控，责令企业限期支付。"


async def test_a_review_in_the_future_or_of_foreign_incidents_is_refused(
    embedded: Running,
) -> None:
    system = embedded
    incident = await incident_of(system, await submit(system, a_report()))
    await known_to_insight(system, incident)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    for body in (
        a_review(incident, held_at=future),
        a_review(incident, jurisdiction="xuanen"),
        a_review("no-such-incident"),
    ):
        r = await system.client.post("/v1/reviews", json=body, headers=system.auth())
        assert_problem(r, 422)
    r = await system.client.post(
        "/v1/reviews", json=a_review(incident), headers=system.auth("reporter")
    )
    assert_problem(r, 403)

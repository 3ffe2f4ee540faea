from __future__ import annotations

from tests.conftest import Running


async def test_report_round_trip_on_embedded(embedded: Running) -> None:
    body = {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春某公司"},
        "category": "wage_arrears",
        "workers_involved": 12,
        "reporter": {"name": "李四", "phone": "13800138000"},
    }
    r = await embedded.client.post("/v1/reports", json=body, headers=embedded.auth("reporter"))
    assert r.status_code == 202, r.text
    got = await embedded.client.get(f"/v1/reports/{r.json()['id']}", headers=embedded.auth())
    assert got.json()["reporter"] == {"name": "李*", "phone": "138****8000"}


async def test_report_round_trip_on_postgres(on_postgres: Running) -> None:
    body = {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春某公司"},
        "category": "wage_arrears",
        "workers_involved": 12,
    }
    r = await on_postgres.client.post("/v1/reports", json=body, headers=on_postgres.auth())
    assert r.status_code == 202, r.text

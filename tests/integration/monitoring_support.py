"""Helpers of the monitoring tests: valid credit codes, registered enterprises, figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete

from libs.common.enterprise import credit_code_check_char
from services.monitoring.tables import alerts, enterprise_history, enterprises, observations
from tests.conftest import Running


def code(n: int, *, prefix: str = "91220104MA") -> str:
    """The n-th valid credit code of a test."""
    first = f"{prefix}{n:07d}"
    return first + credit_code_check_char(first)


def month(back: int) -> str:
    """The month `back` months before this one (Asia/Shanghai)."""
    now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)
    index = now.year * 12 + now.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def row(credit_code: str, period: str, **overrides: Any) -> dict[str, Any]:
    """A month's figures of a healthy enterprise of 300 people."""
    values: dict[str, Any] = {
        "credit_code": credit_code,
        "period": period,
        "headcount": 300,
        "wages_due_yuan": "1500000.00",
        "wages_paid_yuan": "1500000.00",
        "social_insurance_arrears_months": 0,
        "layoffs": 0,
        "disputes": 0,
    }
    values.update(overrides)
    return values


async def register(
    lw: Running, credit_code: str, *, jurisdiction: str = "changchun", region: str = "chaoyang"
) -> None:
    """Put an enterprise under monitoring as an admin."""
    r = await lw.client.put(
        f"/v1/monitoring/enterprises/{credit_code}",
        json={
            "name": f"长春监测{credit_code[-4:]}汽车零部件有限公司",
            "jurisdiction": jurisdiction,
            "region": region,
            "industry": "manufacturing",
            "headcount": 300,
            "reason": "trade_friction",
        },
        headers=lw.auth("admin"),
    )
    assert r.status_code in (200, 201), r.text


async def upload(lw: Running, rows: list[dict[str, Any]], role: str = "reporter") -> Any:
    """POST figures as JSON; return the response."""
    return await lw.client.post(
        "/v1/monitoring/observations", json={"observations": rows}, headers=lw.auth(role)
    )


async def clear_monitoring(lw: Running) -> None:
    """Empty monitoring's tables (the app, its keys and the bus stay)."""
    async with lw.runtime.sessionmaker.begin() as s:
        for table in (alerts, observations, enterprise_history, enterprises):
            await s.execute(delete(table))

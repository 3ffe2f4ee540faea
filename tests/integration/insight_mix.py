"""A known mix for insight's tests: reports through the API, an acknowledgement through the
API, cases opened and closed by the cases service, and notifier events published as the
notifier would (some redelivered), with
every figure they must give."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from libs.common.bus import Outgoing
from libs.common.contracts import (
    NotificationData,
    NotificationEvent,
)
from libs.common.events import CloudEvent
from services.insight.tables import incidents as insight_incidents
from tests.conftest import Running, a_report, eventually, submit

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIRECTOR = "changchun.director"


@dataclass
class Mix:
    """What was put in, and the incidents it made."""

    now: dt.datetime
    yellow: str = ""
    red: str = ""
    events: list[CloudEvent] = field(default_factory=list)
    hours_to_close: float | None = None  # the yellow case's, as the cases service closed it

    @property
    def start(self) -> dt.date:
        return (self.now - dt.timedelta(days=40)).astimezone(SHANGHAI).date()

    @property
    def end(self) -> dt.date:
        return (self.now + dt.timedelta(days=2)).astimezone(SHANGHAI).date()


async def publish(system: Running, *events: CloudEvent, topic: str) -> None:
    """Put events on the bus as their producer's relay would."""
    await system.runtime.bus.publish(
        [Outgoing(topic=topic, key=e.partitionkey, value=e.to_bytes()) for e in events]
    )


async def incident_of(system: Running, report_id: str) -> str:
    async def graded() -> str | None:
        r = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
        return r.json().get("incident_id")  # type: ignore[no-any-return]

    return str(await eventually(graded))


async def reports_and_ack(system: Running, mix: Mix) -> None:
    """Four reports: a yellow incident of two, a red one, one with no level; the yellow
    warning acknowledged on time by the office."""
    firm = {"name": f"长春{uuid.uuid4().hex[:6]}建筑劳务有限公司", "industry": "建筑业"}
    first = await submit(system, a_report(enterprise=firm))
    await submit(system, a_report(enterprise=firm, source="hotline_12345"))
    red = await submit(
        system, a_report(region="nanguan", workers_involved=60, amount_yuan="6000000")
    )
    await submit(system, a_report(region="kuancheng", workers_involved=5))
    mix.yellow, mix.red = await incident_of(system, first), await incident_of(system, red)

    async def office_notification() -> str | None:
        r = await system.client.get(
            "/v1/notifications",
            params={"incident_id": mix.yellow, "body_id": "changchun.leading_group_office"},
            headers=system.auth(),
        )
        items = r.json()["items"]
        return items[0]["id"] if items else None

    notification = await eventually(office_notification)
    r = await system.client.post(
        f"/v1/notifications/{notification}/ack", headers=system.auth("responder")
    )
    assert r.status_code == 200, r.text


def notification(mix: Mix, kind: str, *, status: str = "pending", **offsets: float) -> CloudEvent:
    """A notifier event about a notification of the director's (days relative to now)."""
    days = _days(mix, **offsets)
    data = NotificationData(
        id=str(uuid.uuid4()),
        incident_id=mix.yellow,
        jurisdiction="changchun",
        body_id=DIRECTOR,
        kind="copy" if "due_at" not in days else "responsible",
        level="yellow",
        level_label="二级黄色预警",
        issued_at=mix.now - dt.timedelta(days=12),
        due_at=days.get("due_at"),
        status=status,
        closed_at=days.get("closed_at"),
        acknowledged_at=days.get("acknowledged_at"),
        late=False,
        escalated_from=None,
        escalation_chain=[],
        drill=False,
    )
    event = NotificationEvent(kind=kind, incident_id=mix.yellow, notification=data)
    return event.to_event(subject=data.id, key=f"changchun:{mix.yellow}")


def _days(mix: Mix, **days: float) -> dict[str, dt.datetime]:
    return {k: mix.now + dt.timedelta(days=v) for k, v in days.items()}


async def cases_walked(system: Running, mix: Mix) -> None:
    """The cases service opens a case for each incident with a level (the yellow and the red
    one); the office closes the yellow one through the API."""

    async def case_id(incident_id: str) -> str | None:
        r = await system.client.get(f"/v1/incidents/{incident_id}", headers=system.auth())
        found: str | None = r.json().get("case_id")
        return found

    yellow = await eventually(lambda: case_id(mix.yellow))
    await eventually(lambda: case_id(mix.red))
    r = await system.client.post(
        f"/v1/cases/{yellow}/close",
        json={"resolution": "resolved", "outcome": "工资已发放"},
        headers=system.auth(),
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    took = dt.datetime.fromisoformat(closed["closed"]["at"]) - dt.datetime.fromisoformat(
        closed["opened_at"]
    )
    mix.hours_to_close = round(took.total_seconds() / 3600, 2)


async def quiet(system: Running, mix: Mix) -> None:
    """Wait until insight has taken in the last event of the mix (the yellow incident closed
    with its case), so that nothing of the mix is still on its way when a test rebuilds
    insight: `laborwatch insight rebuild` is run with insight stopped (README)."""

    async def closed() -> bool | None:
        async with system.runtime.sessionmaker() as session:
            status = await session.scalar(
                select(insight_incidents.c.status).where(insight_incidents.c.id == mix.yellow)
            )
        return True if status == "closed" else None

    await eventually(closed)


async def put_mix(system: Running) -> Mix:
    """Put the whole mix in; return it."""
    mix = Mix(now=dt.datetime.now(dt.UTC))
    await reports_and_ack(system, mix)
    late_ack = notification(
        mix, "acknowledged", due_at=-10, acknowledged_at=-9, status="acknowledged"
    )
    overdue = notification(mix, "overdue", due_at=-5, status="overdue")
    notices = [
        notification(mix, "acknowledged", due_at=-10, acknowledged_at=-11, status="acknowledged"),
        late_ack,
        late_ack,  # redelivered: counts once
        overdue,
        notification(mix, "sent", status="closed"),  # a copy: owes nothing
        notification(mix, "closed", due_at=-3, closed_at=-4, status="closed"),  # closed early
        notification(mix, "closed", due_at=-3, closed_at=-2, status="closed"),  # late, never acked
    ]
    await publish(system, *notices, topic=NotificationEvent.topic)
    await cases_walked(system, mix)
    return mix


def expected(mix: Mix) -> dict[str, Any]:
    """Every figure of /v1/statistics the mix must give."""
    months: dict[str, dict[str, Any]] = {}
    day = mix.start
    while day <= mix.end:
        nothing = {"red": 0, "yellow": 0, "blue": 0}
        months.setdefault(
            day.strftime("%Y-%m"),
            {"reports": 0, "incidents": 0, "warnings": 0, "by_level": nothing},
        )
        day += dt.timedelta(days=1)
    this = mix.now.astimezone(SHANGHAI).strftime("%Y-%m")
    by_level = {"red": 1, "yellow": 1, "blue": 0}
    months[this] = {"reports": 4, "incidents": 3, "warnings": 2, "by_level": by_level}
    return {
        "jurisdiction": "changchun",
        "from": mix.start.isoformat(),
        "to": mix.end.isoformat(),
        "reports": {
            "total": 4,
            "by_source": {"agency": 3, "hotline_12345": 1},
            "by_category": {"wage_arrears": 4},
            "by_region": {"chaoyang": 2, "kuancheng": 1, "nanguan": 1},
        },
        "incidents": {
            "total": 3,
            "by_level": {"red": 1, "yellow": 1, "blue": 0, "none": 1},
            "lifted": 0,
            "clusters": 0,
            "by_category": {"wage_arrears": 3},
            "by_region": {"chaoyang": 1, "kuancheng": 1, "nanguan": 1},
            "by_industry": {"建筑业": 1},
            "workers_involved": 100,
            "amount_yuan": str(Decimal(6000000)),
        },
        "notifications": {
            "due": 6,
            "on_time": 2,
            "late": 3,
            "open": 1,
            "on_time_rate": 0.4,
            "by_body": {
                "changchun.leading_group": {"due": 1, "on_time": 0, "late": 0},
                "changchun.leading_group_office": {"due": 1, "on_time": 1, "late": 0},
                DIRECTOR: {"due": 4, "on_time": 1, "late": 3},
            },
        },
        "cases": {"opened": 2, "closed": 1, "median_hours_to_close": mix.hours_to_close},
        "by_month": [{"month": m, **c} for m, c in sorted(months.items())],
    }

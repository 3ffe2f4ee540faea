"""A known mix for insight's tests: reports through the API, an acknowledgement through the
API, and notifier and case events published as their services would (some redelivered), with
every figure they must give."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from libs.common.bus import Outgoing
from libs.common.contracts import (
    BodyRef,
    CaseClosure,
    CaseData,
    CaseEvent,
    NotificationData,
    NotificationEvent,
)
from libs.common.contracts.base import EventData
from libs.common.events import CloudEvent
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


def case(
    mix: Mix, incident_id: str, step: str, *, opened: float, closed: float | None
) -> CloudEvent:
    """A cases event (days relative to now)."""
    at = _days(mix, opened=opened, **({"closed": closed} if closed is not None else {}))
    body = BodyRef(body_id="changchun.leading_group_office", name="领导小组办公室")
    closure = (
        CaseClosure(at=at["closed"], by="office", resolution="resolved", outcome=None)
        if "closed" in at
        else None
    )
    data = CaseData(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, incident_id)),
        incident_id=incident_id,
        jurisdiction="changchun",
        level="yellow",
        level_label="二级黄色预警",
        level_rank=2,
        responsible_body=body,
        status="closed" if closure else "open",
        plan=None,
        approval=None,
        progress=[],
        government_reports=[],
        form=None,
        closed=closure,
        opened_at=at["opened"],
        drill=False,
    )
    event: EventData = CaseEvent(
        step=step,
        at=at.get("closed", at["opened"]),
        by="office",
        summary_zh="案件",
        case=data,
    )
    return event.to_event(subject=data.id, key=f"changchun:{incident_id}")


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
    opened = case(mix, mix.yellow, "opened", opened=-3, closed=None)
    closed = case(mix, mix.yellow, "closed", opened=-3, closed=-1)
    red_case = case(mix, mix.red, "opened", opened=0, closed=None)
    await publish(system, opened, closed, closed, red_case, topic=CaseEvent.topic)
    return mix


def expected(mix: Mix) -> dict[str, Any]:
    """Every figure of /v1/statistics the mix must give."""
    months: dict[str, dict[str, Any]] = {}
    day = mix.start
    while day <= mix.end:
        months.setdefault(day.strftime("%Y-%m"), {"reports": 0, "incidents": 0, "warnings": 0})
        day += dt.timedelta(days=1)
    this = mix.now.astimezone(SHANGHAI).strftime("%Y-%m")
    months[this] = {"reports": 4, "incidents": 3, "warnings": 2}
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
        "cases": {"opened": 2, "closed": 1, "median_hours_to_close": 48.0},
        "by_month": [{"month": m, **c} for m, c in sorted(months.items())],
    }

"""The notifier's clock on PostgreSQL: replicas racing, acknowledgements racing the clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from libs.common.auth import Principal, Role
from libs.common.bus import Delivered
from libs.common.contracts import IncidentWarning
from libs.common.events import INCIDENT_WARNING, new_event
from libs.common.runtime import Runtime
from libs.common.tables import OutboxMessage
from services.notifier import operations
from services.notifier.app import build_notifier
from services.notifier.consumers import consumers, on_warning
from services.notifier.deadlines import fire_deadlines
from services.notifier.domain import Via
from services.notifier.schemas import ChannelIn
from services.notifier.service import Notifier
from services.notifier.tables import Delivery, LateReport, Notification
from tests.conftest import make_settings, truncate_all

pytestmark = pytest.mark.postgres

ADMIN = Principal(key_id="k", name="test", role=Role.ADMIN, jurisdiction=None, body_id=None)


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[Notifier, Notifier]]:
    """Two notifier instances, each with its own engine, as two processes would have."""
    runtimes = [Runtime.from_settings(make_settings(database_url=pg_url)) for _ in range(2)]
    await truncate_all(runtimes[0])
    async with httpx.AsyncClient() as http:
        yield build_notifier(runtimes[0], http=http), build_notifier(runtimes[1], http=http)
    for runtime in runtimes:
        await runtime.engine.dispose()


def incident(**overrides: Any) -> dict[str, Any]:
    """An incident as grading's warning carries it (the published language)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "jurisdiction": "xuanen",
        "policy": "xuanen-2021",
        "kind": "single",
        "status": "open",
        "level": "level1",
        "level_label": "一级预警",
        "level_rank": 1,
        "provisional": True,
        "reasons": ["…"],
        "routed_to": {"body_id": "xuanen.zhushan.tripartite", "name": "珠山镇"},
        "issued_at": now,
        "report_ids": [],
        "member_ids": [],
        "cluster_id": None,
        "corroboration": 1,
        "sources": ["agency"],
        "enterprise": {"name": "宣恩某公司", "credit_code": None, "industry": None},
        "category": "wage_arrears",
        "categories": ["wage_arrears"],
        "region": "zhushan",
        "regions": ["zhushan"],
        "workers_involved": 30,
        "amount_yuan": "0",
        "terminations": 0,
        "collective_action": "possible",
        "extreme_individual": False,
        "potential_major_impact": False,
        "opened_at": now,
        "updated_at": now,
        "drill": False,
    } | overrides


def warning(*, issued_ago: dt.timedelta, limit: dt.timedelta) -> dict[str, Any]:
    issued = dt.datetime.now(dt.UTC) - issued_ago
    return {
        "incident": incident(),
        "warning": {
            "level": "level1",
            "level_label": "一级预警",
            "level_rank": 1,
            "previous_level": None,
            "policy": "xuanen-2021",
            "reasons": ["…"],
            "issued_at": issued.isoformat(),
            "drill": False,
            "routed_to": {"body_id": "xuanen.zhushan.tripartite", "name": "珠山镇"},
            "copies": [],
            "reporting_limit_seconds": limit.total_seconds(),
            "escalation_chain": ["xuanen.county.tripartite", "xuanen.prefecture.tripartite"],
        },
    }


async def issue(
    notifier: Notifier, n: int, *, issued_ago: dt.timedelta, limit: dt.timedelta
) -> list[str]:
    async with notifier.sessionmaker.begin() as session:
        for _ in range(n):
            data = warning(issued_ago=issued_ago, limit=limit)
            await on_warning(
                notifier, session, str(uuid.uuid4()), IncidentWarning.model_validate(data)
            )
    async with notifier.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(Notification.id).where(Notification.escalated_from.is_(None))
                )
            ).scalars()
        )


async def count(notifier: Notifier, query: Any) -> int:
    async with notifier.sessionmaker() as session:
        return int(await session.scalar(query) or 0)


async def test_two_replicas_fire_each_deadline_exactly_once(
    replicas: tuple[Notifier, Notifier],
) -> None:
    a, b = replicas
    ids = await issue(a, 120, issued_ago=dt.timedelta(hours=7), limit=dt.timedelta(hours=6))

    async def drain(notifier: Notifier) -> int:
        fired = 0
        while n := await fire_deadlines(notifier, limit=7):
            fired += n
        return fired

    fired = await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
    # The first round's escalations are due 6 h after now: not yet. Each original fired once.
    assert sum(fired) == 120
    assert all(f > 0 for f in fired[:2]) or sum(fired[:2]) > 0
    assert await count(a, select(func.count()).select_from(LateReport)) == 120
    escalations = await count(
        a,
        select(func.count()).select_from(Notification).where(Notification.escalated_from.in_(ids)),
    )
    assert escalations == 120
    overdue_events = await count(
        a,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.payload.contains(b'"kind":"overdue"')),
    )
    assert overdue_events == 120


async def test_an_acknowledgement_racing_the_clock_never_leaves_both_outcomes(
    replicas: tuple[Notifier, Notifier],
) -> None:
    a, b = replicas
    # Due a moment ago: the clock wants to fire each one just as it is acknowledged.
    ids = await issue(
        a, 40, issued_ago=dt.timedelta(hours=6, milliseconds=1), limit=dt.timedelta(hours=6)
    )

    async def ack(notification_id: str) -> None:
        await operations.acknowledge(b, notification_id, principal=ADMIN, note=None, via=Via.API)

    async def clock() -> None:
        while await fire_deadlines(a, limit=3):  # each call awaits the database: others run
            pass

    await asyncio.gather(clock(), *(ack(i) for i in ids), clock())
    async with a.sessionmaker() as session:
        rows = {n.id: n for n in (await session.execute(select(Notification))).scalars()}
        late = {r.notification_id: r for r in (await session.execute(select(LateReport))).scalars()}
    escalated = {n.escalated_from for n in rows.values() if n.escalated_from}
    for notification_id in ids:
        n = rows[notification_id]
        assert n.status == "acknowledged"  # every ack holds, whoever came first
        assert n.late is True  # it came after due_at either way, and is recorded so
        assert late[notification_id].acknowledged_at == n.acknowledged_at
    # Whoever came first, an escalation exists only where the clock fired before the ack.
    fired_first = {i for i in ids if late[i].detected_at < rows[i].acknowledged_at}  # type: ignore[operator]
    assert escalated == fired_first
    assert await fire_deadlines(a) == 0  # nothing acknowledged fires afterwards


async def test_the_same_warning_on_two_replicas_makes_one_notification(
    replicas: tuple[Notifier, Notifier],
) -> None:
    a, b = replicas
    event_id = str(uuid.uuid4())
    data = warning(issued_ago=dt.timedelta(0), limit=dt.timedelta(hours=6))

    async def deliver(notifier: Notifier) -> bool:
        try:
            async with notifier.sessionmaker.begin() as session:
                await on_warning(notifier, session, event_id, IncidentWarning.model_validate(data))
        except IntegrityError:
            return False  # the consumer retries; the retry finds the notification made
        return True

    results = await asyncio.gather(deliver(a), deliver(b))
    assert any(results)
    assert await deliver(a)  # the retry
    assert await count(a, select(func.count()).select_from(Notification)) == 1


async def test_a_batch_of_warnings_makes_each_notification_and_its_deliveries_once(
    pg_url: str,
) -> None:
    runtime = Runtime.from_settings(make_settings(database_url=pg_url))
    await truncate_all(runtime)
    http = httpx.AsyncClient()
    notifier = build_notifier(runtime, http=http)
    try:
        zhushan = "xuanen.zhushan.tripartite"
        await operations.set_channels(
            notifier,
            zhushan,
            [
                ChannelIn(type="email", target="zhushan@example.org"),
                ChannelIn(type="sms", target="13800138000"),
            ],
        )
        copy = {"body_id": "xuanen.county.tripartite", "name": "县"}
        events = []
        for n in range(40):
            data = warning(issued_ago=dt.timedelta(0), limit=dt.timedelta(hours=6))
            data["warning"]["copies"] = [copy] if n % 2 else []
            events.append(new_event(service="grading", type_=INCIDENT_WARNING, data=data, key="k"))
        runner = runtime.runner(consumers(notifier)[0], notifier.outbox)

        def delivered(n: int) -> Delivered:
            return Delivered(INCIDENT_WARNING, "k", events[n].to_bytes(), 0, n)

        await runner.process(delivered(0))  # made before the batch
        await runner.process_batch([delivered(n) for n in range(1, 40)])
        await runner.process_batch([delivered(n) for n in range(0, 40)])  # redelivered

        made = select(func.count()).select_from(Notification)
        assert await count(notifier, made) == 40 + 20  # one each, and a copy of every other
        sent = select(func.count()).select_from(Delivery).where(Delivery.channel == "sms")
        assert await count(notifier, sent) == 40  # the responsible body's two channels
        # Copies need no acknowledgement: closed as they are made.
        closed = (
            select(func.count()).select_from(Notification).where(Notification.status == "closed")
        )
        assert await count(notifier, closed) == 20
        assert await count(notifier, select(func.count()).select_from(Delivery)) == 80
    finally:
        await http.aclose()
        await runtime.engine.dispose()


async def test_a_warning_and_its_reassessment_in_one_batch_leave_nothing_pending(
    pg_url: str,
) -> None:
    # The warning's notification and its deliveries are written at commit; the assessment that
    # follows in the same batch must still find them, and close them.
    runtime = Runtime.from_settings(make_settings(database_url=pg_url))
    await truncate_all(runtime)
    http = httpx.AsyncClient()
    notifier = build_notifier(runtime, http=http)
    try:
        zhushan = "xuanen.zhushan.tripartite"
        await operations.set_channels(
            notifier, zhushan, [ChannelIn(type="sms", target="13800138000")]
        )
        first = warning(issued_ago=dt.timedelta(0), limit=dt.timedelta(hours=6))
        lifted = {
            "incident": first["incident"] | {"level": None, "level_rank": 0},
            "warning": {
                "level": None,
                "previous_level": "level1",
                "previous_level_rank": 1,
                "policy": "xuanen-2021",
                "reasons": [],
                "issued_at": dt.datetime.now(dt.UTC).isoformat(),
                "drill": False,
                "by_assessment": True,
                "lifted": True,
            },
        }
        events = [
            new_event(service="grading", type_=INCIDENT_WARNING, data=data, key="k")
            for data in (first, lifted)
        ]
        runner = runtime.runner(consumers(notifier)[0], notifier.outbox)
        await runner.process_batch(
            [Delivered(INCIDENT_WARNING, "k", e.to_bytes(), 0, n) for n, e in enumerate(events)]
        )

        async with runtime.sessionmaker() as session:
            made = (await session.execute(select(Notification))).scalars().all()
            notices = await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.purpose == "notice")
            )
        # Closed as lifted: the assessment is no acknowledgement (none is faked).
        assert [(n.status, n.closed_reason, n.acknowledged_at) for n in made] == [
            ("closed", "lifted", None)
        ]
        assert notices == 1  # the notice was queued: sent or not, it is history
        assert await fire_deadlines(notifier) == 0
    finally:
        await http.aclose()
        await runtime.engine.dispose()


async def test_a_rise_closes_the_escalation_of_the_earlier_level_too(
    replicas: tuple[Notifier, Notifier],
) -> None:
    a, _ = replicas
    first = warning(issued_ago=dt.timedelta(hours=7), limit=dt.timedelta(hours=6))
    async with a.sessionmaker.begin() as session:
        await on_warning(a, session, str(uuid.uuid4()), IncidentWarning.model_validate(first))
    assert await fire_deadlines(a) == 1  # the township's deadline passed: the county is told
    raised = {
        "incident": first["incident"] | {"level": "level2", "level_rank": 2},
        "warning": first["warning"]
        | {
            "level": "level2",
            "level_label": "二级预警",
            "level_rank": 2,
            "previous_level": "level1",
            "previous_level_rank": 1,
            "issued_at": dt.datetime.now(dt.UTC).isoformat(),
            "routed_to": {"body_id": "xuanen.county.tripartite", "name": "县"},
            "escalation_chain": ["xuanen.prefecture.tripartite"],
            "reporting_limit_seconds": 0.0,  # due at once: the clock would fire everything due
        },
    }
    async with a.sessionmaker.begin() as session:
        await on_warning(a, session, str(uuid.uuid4()), IncidentWarning.model_validate(raised))
    async with a.sessionmaker() as session:
        rows = {
            (n.level, n.body_id): n for n in (await session.execute(select(Notification))).scalars()
        }
    escalation = rows[("level1", "xuanen.county.tripartite")]
    assert (escalation.status, escalation.closed_reason) == ("closed", "superseded")
    assert rows[("level1", "xuanen.zhushan.tripartite")].status == "overdue"  # late stays late
    assert await fire_deadlines(a) == 1  # only the level2 notice; nothing of level1 escalates
    async with a.sessionmaker() as session:
        escalated_from = set(
            (
                await session.execute(
                    select(Notification.escalated_from).where(
                        Notification.escalated_from.is_not(None)
                    )
                )
            ).scalars()
        )
    assert escalation.id not in escalated_from

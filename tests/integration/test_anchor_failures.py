"""The known failures of the systems laborwatch learns from, each as a test named after it
that would fail if laborwatch had the same bug (issue 12, "Known failures of the anchors").

Where a test under another name already shows it, the named test runs that one."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from laborwatch import apps
from libs.common.runtime import Runtime
from services.notifier import operations
from services.notifier.channels import Message, Target
from services.notifier.delivery import deliver_due
from services.notifier.schemas import ChannelIn
from services.notifier.service import Notifier
from services.notifier.tables import Delivery
from tests.conftest import eventually, make_settings, running
from tests.integration import test_notifier_api, test_notifier_delivery, test_notifier_postgres
from tests.integration.test_notifier_api import ZHUSHAN, deliveries, xuanen_report
from tests.integration.test_notifier_delivery import (
    Receiver,
    receiver,
    responsible,
    set_channels,
    webhook,
)
from tests.integration.test_notifier_postgres import issue, replicas

__all__ = ["receiver", "replicas"]  # the fixtures, shared


async def test_grafana_oncall_1206_an_escalation_resumes_after_a_restart(sqlite_url: str) -> None:
    """OnCall #1206: escalations stopped for good when the process restarted. Here a deadline
    that passes while nothing runs fires once, from the process that starts next."""
    await test_notifier_api.test_a_deadline_passed_while_stopped_fires_once_after_a_restart(
        sqlite_url
    )


async def test_grafana_oncall_4654_nothing_is_sent_after_the_acknowledgement(
    sqlite_url: str, receiver: Receiver
) -> None:
    """OnCall #4654: people were notified after they had acknowledged. Here a reminder queued
    (and failing) before the acknowledgement is cancelled by it, never sent after."""
    await test_notifier_delivery.test_a_queued_reminder_is_cancelled_by_the_acknowledgement(
        sqlite_url, receiver
    )


@pytest.mark.postgres
async def test_iris_542_an_acknowledgement_stops_the_escalation(
    replicas: tuple[Notifier, Notifier],
) -> None:
    """Iris #542: acknowledged, yet the escalation went on. Here acknowledgements racing the
    clock's firing on two replicas leave each notification acknowledged or escalated, never
    both."""
    await (
        test_notifier_postgres.test_an_acknowledgement_racing_the_clock_never_leaves_both_outcomes(
            replicas
        )
    )


@pytest.mark.postgres
async def test_alertmanager_1718_two_replicas_notify_once(
    replicas: tuple[Notifier, Notifier],
) -> None:
    """Alertmanager #1718: two replicas each sent the notification. Here two replicas fire each
    deadline once, and send each queued message once between them."""
    await test_notifier_postgres.test_two_replicas_fire_each_deadline_exactly_once(replicas)
    a, b = replicas
    sent: Counter[str] = Counter()

    class Counting:
        async def send(self, target: Target, message: Message) -> None:
            await asyncio.sleep(0.001)  # long enough for the other replica to try the same row
            sent[message.message_id] += 1

    a, b = (dataclasses.replace(n, senders={"sms": Counting()}) for n in (a, b))
    await operations.set_channels(a, ZHUSHAN, [ChannelIn(type="sms", target="13800138000")])
    await issue(a, 30, issued_ago=dt.timedelta(minutes=1), limit=dt.timedelta(hours=6))

    async def drain(n: Notifier) -> None:
        while await deliver_due(n, limit=4):
            pass

    await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
    assert len(sent) == 30 and set(sent.values()) == {1}, sent
    async with a.sessionmaker() as session:
        statuses = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        assert dict(statuses.all()) == {"sent": 30}


async def test_alertmanager_2370_a_restart_loses_no_notification(
    sqlite_url: str, receiver: Receiver
) -> None:
    """Alertmanager #2370: alerts held in memory were lost at a restart. Here a message that
    could not be delivered before the process stopped is delivered by the next one."""
    receiver.answer = lambda n, payload: 503
    # A second between attempts: the process is stopped between two, not during one (a send
    # in flight at a stop is retried when its lease ends, a minute later).
    settings = make_settings(
        database_url=sqlite_url, deadline_poll_seconds=0.05, delivery_backoff_seconds=1.0
    )
    async with running(settings) as first:
        await set_channels(first, ZHUSHAN, webhook(receiver))
        n = await responsible(first, xuanen_report(), ZHUSHAN)

        async def refused() -> list[Delivery] | None:
            rows = await deliveries(first.runtime, n["id"])
            return rows if rows and rows[0].last_error and rows[0].status == "pending" else None

        await eventually(refused)
    await first.runtime.engine.dispose()
    receiver.answer = lambda n, payload: 200

    runtime = Runtime.from_settings(settings)
    async with restarted(runtime):

        async def sent() -> list[Delivery] | None:
            rows = await deliveries(runtime, n["id"])
            return rows if rows and rows[0].status == "sent" else None

        await eventually(sent)
    await runtime.engine.dispose()
    accepted = [r for r in receiver.received() if r.status == 200]
    assert [r.payload["notification"]["id"] for r in accepted] == [n["id"]]


async def test_ushahidi_1520_a_message_the_provider_accepted_is_not_sent_again(
    sqlite_url: str, receiver: Receiver
) -> None:
    """Ushahidi #1520: one SMS delivered hundreds of times, retried after timeouts although
    the provider had taken it. Here a retry after a timeout carries the same message id (the
    provider drops it as a duplicate), and once an attempt is accepted nothing is sent again."""

    def slow_first(n: int, payload: dict[str, Any]) -> int:
        if n == 1:
            time.sleep(1.0)  # accepted, but answered after the sender stopped waiting
        return 200

    receiver.answer = slow_first
    settings = make_settings(
        database_url=sqlite_url,
        deadline_poll_seconds=0.05,
        delivery_backoff_seconds=0.05,
        delivery_timeout_seconds=0.3,
    )
    async with running(settings) as system:
        await set_channels(system, ZHUSHAN, webhook(receiver))
        n = await responsible(system, xuanen_report(), ZHUSHAN)

        async def sent() -> list[Delivery] | None:
            rows = await deliveries(system.runtime, n["id"])
            return rows if rows and rows[0].status == "sent" else None

        (delivery,) = await eventually(sent)
        assert delivery.attempts >= 2  # the first timed out (the receiver holds its lock)
        await asyncio.sleep(0.5)  # any further attempt would have come by now
    got = receiver.received()
    assert len(got) == delivery.attempts  # one send an attempt, none once one was accepted
    assert len({r.headers["webhook-id"] for r in got}) == 1


@asynccontextmanager
async def restarted(runtime: Runtime) -> AsyncIterator[None]:
    """The whole system started again on a runtime, its tables kept."""
    app = apps.all_in_one(runtime)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield

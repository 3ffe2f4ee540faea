"""Sharing with partner departments over real HTTP: filtering, Standard Webhooks signatures
checked with the `standardwebhooks` library as a partner would, secret rotation, retries
across a restart, a dead receiver beside a live one, redelivery, pausing, and the privacy
rule; on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from sqlalchemy import update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from libs.common.runtime import Runtime
from services.notifier.sharing.tables import Subscription
from tests.conftest import Running, a_report, eventually, submit, truncate_all
from tests.integration.partner import (
    Receiver,
    alert,
    case_closed,
    publish,
    serve,
    sharing_settings,
    subscribe,
)

INCIDENT_FIELDS = {
    "id", "jurisdiction", "kind", "level", "level_label", "level_rank", "reasons", "reasons_zh",
    "enterprise", "region", "regions", "category", "categories", "figures", "opened_at",
    "updated_at", "closed_at", "status", "drill", "previous_level", "issued_at", "lifted",
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, module_db: str) -> str:
    """The module's SQLite database, then the session's PostgreSQL one (set up outside the
    loop)."""
    url: str = module_db if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def db(db_url: str) -> str:
    """The database, emptied."""
    runtime = Runtime.from_settings(sharing_settings(db_url))
    await truncate_all(runtime)
    await runtime.engine.dispose()
    return db_url


@pytest.fixture
def partner() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
async def system(db: str) -> AsyncIterator[Running]:
    async with serve(sharing_settings(db)) as s:
        yield s


async def arrived(partner: Receiver, path: str, count: int = 1, timeout: float = 15) -> list[Any]:
    async def enough() -> list[Any] | None:
        calls = partner.at(path)
        return calls if len(calls) >= count else None

    result: list[Any] = await eventually(enough, timeout=timeout)
    return result


async def deliveries(system: Running, sub_id: str) -> list[dict[str, Any]]:
    r = await system.client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=system.auth())
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def red(**overrides: Any) -> dict[str, Any]:
    """A red (rank 3) Changchun report in Nanguan, on layoffs."""
    return a_report(region="nanguan", category="layoff", workers_involved=60, **overrides)


async def test_each_subscription_gets_only_what_it_asked_for(
    system: Running, partner: Receiver
) -> None:
    subs: dict[str, dict[str, Any]] = {
        "/all": {},
        "/xuanen": {"jurisdiction": "xuanen"},
        "/red": {"min_level_rank": 3},
        "/nanguan": {"regions": ["nanguan"]},
        "/layoff": {"categories": ["layoff"]},
        "/alerts": {"events": ["monitoring.alert"]},
        "/closings": {"events": ["incident.closed"]},
    }
    for path, fields in subs.items():
        await subscribe(system, partner.url(path), **fields)
    await submit(system, a_report())  # yellow, Chaoyang, wage arrears
    await arrived(partner, "/all")
    await submit(system, red())
    await arrived(partner, "/all", 2)
    for path in ("/red", "/nanguan", "/layoff"):
        (call,) = await arrived(partner, path)
        assert call.event["data"]["level"] == "red"
    await publish(system, alert(), subject="alert")
    (call,) = await arrived(partner, "/alerts")
    assert call.event["type"] == "laborwatch.shared.monitoring.alert.v1"
    # Intake files the alert as a report, graded like any other: its warning is shared too,
    # the alert itself only where it was named.
    third = (await arrived(partner, "/all", 3))[2].event["data"]
    await asyncio.sleep(0.5)  # what should not come has had its chance
    assert {c.event["type"] for c in partner.at("/all")} == {
        "laborwatch.shared.incident.warning.v1"
    }
    assert len(partner.at("/all")) == 3
    for path in ("/xuanen", "/closings"):
        assert partner.at(path) == []
    assert len(partner.at("/red")) == (2 if third["level"] == "red" else 1)
    for path in ("/nanguan", "/layoff", "/alerts"):
        assert len(partner.at(path)) == 1


async def test_a_partner_verifies_the_signed_cloudevent_and_reads_the_fixed_fields(
    system: Running, partner: Receiver
) -> None:
    sub_id, secret = await subscribe(system, partner.url("/hook"))
    await submit(system, red())
    (call,) = await arrived(partner, "/hook")
    payload = call.verify(secret)  # raises unless signed with the secret
    assert call.headers["content-type"] == "application/cloudevents+json"
    event = JSONFormat().read(None, call.body)  # the CloudEvents SDK reads it
    assert event.get_id() == call.headers["webhook-id"] == payload["id"]
    assert event.get_type() == "laborwatch.shared.incident.warning.v1"
    assert set(payload["data"]) == INCIDENT_FIELDS
    assert payload["data"]["figures"]["workers_involved"] == 60
    assert payload["data"]["drill"] is False
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(call.body, call.headers)

    # The call's outcome is recorded with the others that ended in the same moment.
    async def recorded() -> Any:
        (logged,) = await deliveries(system, sub_id)
        return logged if logged["status"] != "pending" else None

    logged = await eventually(recorded)
    assert logged["event_id"] == payload["id"]
    assert logged["type"] == "incident.warning"
    assert logged["status"] == "delivered"
    assert logged["attempts"] == 1
    assert logged["last_status_code"] == 200
    assert logged["delivered_at"].endswith("+08:00")


async def test_a_rotated_secret_overlaps_with_the_old_one_until_it_expires(
    system: Running, partner: Receiver
) -> None:
    sub_id, old = await subscribe(system, partner.url("/hook"))
    r = await system.client.post(f"/v1/subscriptions/{sub_id}/rotate-secret", headers=system.auth())
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_")
    await submit(system, red())
    (call,) = await arrived(partner, "/hook")
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    call.verify(old)
    call.verify(new)
    async with system.runtime.sessionmaker.begin() as session:  # the overlap is over
        await session.execute(update(Subscription).values(previous_until=Subscription.created_at))
    await submit(system, red())
    _, later = await arrived(partner, "/hook", 2)
    later.verify(new)
    with pytest.raises(WebhookVerificationError):
        later.verify(old)


async def test_a_failed_delivery_is_retried_after_a_restart(db: str, partner: Receiver) -> None:
    partner.answer = lambda path: 503
    # Retries every 0.2–0.4 s: however long the first run lasts, the next is soon after it.
    first_run = sharing_settings(db, sharing_backoff_seconds=0.2, sharing_backoff_max_seconds=0.4)
    async with serve(first_run) as first:
        sub_id, secret = await subscribe(first, partner.url("/hook"))
        await submit(first, red())
        await arrived(partner, "/hook", 2)
        (logged,) = await deliveries(first, sub_id)
        assert logged["status"] == "pending"
        assert logged["last_status_code"] == 503
    partner.answer = lambda path: 200
    async with serve(sharing_settings(db)) as second:

        async def delivered() -> dict[str, Any] | None:
            (d,) = await deliveries(second, sub_id)
            return d if d["status"] == "delivered" else None

        logged = await eventually(delivered)
        assert logged["attempts"] >= 3
        calls = partner.at("/hook")
        assert {c.headers["webhook-id"] for c in calls} == {logged["event_id"]}
        calls[-1].verify(secret)


async def test_a_receiver_that_times_out_delays_no_other_subscriber_nor_the_body(
    db: str, partner: Receiver
) -> None:
    partner.delay["/dead"] = 10.0  # longer than the 4 s timeout: every call times out
    async with serve(sharing_settings(db, sharing_timeout_seconds=4.0)) as system:
        await subscribe(system, partner.url("/dead"))
        await subscribe(system, partner.url("/live"))
        office = "changchun.leading_group_office"
        r = await system.client.put(
            f"/v1/bodies/{office}/channels",
            json={"channels": [{"type": "webhook", "target": partner.url("/body")}]},
            headers=system.auth(),
        )
        assert r.status_code == 200, r.text
        for _ in range(3):
            await submit(system, a_report())
        live = await arrived(partner, "/live", 3)
        body = await arrived(partner, "/body", 3)
        hung = min(c.at for c in partner.at("/dead"))
        # Before the dead receiver's first call has even timed out, the others have it all.
        assert max(c.at for c in live) - hung < 3.0, "the live partner waited on the dead one"
        assert max(c.at for c in body) - hung < 3.0, "a body's warning waited on a partner"
        assert len(partner.at("/dead")) <= 2  # two calls in flight at most, per subscription


async def test_a_manual_redelivery_sends_the_event_again_with_its_id(
    system: Running, partner: Receiver
) -> None:
    sub_id, secret = await subscribe(system, partner.url("/hook"))
    await submit(system, red())
    (first,) = await arrived(partner, "/hook")
    event_id = first.headers["webhook-id"]
    url = f"/v1/subscriptions/{sub_id}/deliveries/{event_id}/redeliver"
    r = await system.client.post(url, headers=system.auth())
    assert r.status_code == 202, r.text
    assert r.json()["event_id"] == event_id
    _, again = await arrived(partner, "/hook", 2)
    assert again.headers["webhook-id"] == event_id
    assert again.verify(secret) == first.verify(secret)
    (logged,) = await deliveries(system, sub_id)
    assert logged["attempts"] == 2
    r = await system.client.post(
        f"/v1/subscriptions/{sub_id}/deliveries/nope/redeliver", headers=system.auth()
    )
    assert r.status_code == 404


async def test_a_redelivery_asked_while_the_first_call_is_out_is_not_lost(
    db: str, partner: Receiver
) -> None:
    # One call in flight per subscription: the redelivery waits for the first call, whose
    # answer ("delivered") must not then undo it.
    partner.delay["/slow"] = 1.5
    async with serve(sharing_settings(db, sharing_per_subscription=1)) as system:
        sub_id, _ = await subscribe(system, partner.url("/slow"))
        await submit(system, red())
        (first,) = await arrived(partner, "/slow")
        url = f"/v1/subscriptions/{sub_id}/deliveries/{first.headers['webhook-id']}/redeliver"
        r = await system.client.post(url, headers=system.auth())
        assert r.status_code == 202, r.text
        partner.delay.clear()
        _, again = await arrived(partner, "/slow", 2)
        assert again.headers["webhook-id"] == first.headers["webhook-id"]


async def test_a_subscription_failing_for_its_whole_window_is_paused_then_resumed(
    db: str, partner: Receiver
) -> None:
    partner.answer = lambda path: 500
    settings = sharing_settings(db, sharing_retry_hours=1.0 / 3600)  # a one-second window
    async with serve(settings) as system:
        sub_id, _ = await subscribe(system, partner.url("/hook"))
        await submit(system, red())

        async def paused() -> dict[str, Any] | None:
            r = await system.client.get(f"/v1/subscriptions/{sub_id}", headers=system.auth())
            return r.json() if r.json()["status"] == "paused" else None

        shown = await eventually(paused)
        assert shown["paused_reason"] and "500" in shown["paused_reason"]
        (logged,) = await deliveries(system, sub_id)
        assert logged["status"] == "failed"
        assert logged["attempts"] >= 2
        await submit(system, red())  # queued, but not sent while paused
        await asyncio.sleep(0.5)
        count = len(partner.at("/hook"))
        await asyncio.sleep(0.5)
        assert len(partner.at("/hook")) == count
        partner.answer = lambda path: 200
        r = await system.client.post(f"/v1/subscriptions/{sub_id}/resume", headers=system.auth())
        assert r.status_code == 200 and r.json()["status"] == "active"

        async def both_settled() -> bool:
            statuses = {d["status"] for d in await deliveries(system, sub_id)}
            return statuses == {"delivered", "failed"}

        await eventually(both_settled)


async def test_no_personal_data_nor_free_text_reaches_a_partner(
    system: Running, partner: Receiver
) -> None:
    await subscribe(
        system,
        partner.url("/hook"),
        events=["incident.warning", "incident.closed", "case.closed", "monitoring.alert"],
    )
    secrets = ["13812345678", "110101199003078888", "张三丰", "李四光", "欠薪讨要现场"]
    for n in range(3):
        await submit(
            system,
            red(
                summary=f"张三丰（13812345678，身份证110101199003078888）反映欠薪讨要现场{n}",
                demands="李四光要求支付工资，电话13812345678",
                location="张三丰家门口 110101199003078888",
                reporter={"name": "张三丰", "phone": "13812345678"},
            ),
        )
    calls = await arrived(partner, "/hook", 1)
    incident_id = calls[0].event["data"]["id"]
    outcome = "张三丰已领取工资，电话13812345678，身份证110101199003078888"
    await publish(system, case_closed(incident_id, outcome=outcome), subject=incident_id)
    await publish(system, alert(), subject="alert")

    async def all_kinds() -> set[str] | None:
        kinds = {c.event["type"].split(".", 2)[2] for c in partner.everything()}
        return kinds if {"case.closed.v1", "monitoring.alert.v1"} <= kinds else None

    await eventually(all_kinds)
    for call in partner.everything():
        text = call.body.decode()
        for secret in secrets:
            assert secret not in text, f"{secret!r} reached a partner in {call.event['type']}"
    (closed,) = [c for c in partner.everything() if "case.closed" in c.event["type"]]
    assert set(closed.event["data"]) == {
        "id", "incident_id", "jurisdiction", "level", "level_label", "level_rank", "status",
        "resolution", "closed_at", "drill",
    }  # fmt: skip
    assert closed.event["data"]["resolution"] == "resolved"

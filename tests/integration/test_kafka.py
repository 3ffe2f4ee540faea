"""Intake on PostgreSQL and a real Kafka-protocol broker, through aiokafka."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from cloudevents.core.formats.json import JSONFormat
from sqlalchemy import func, select

from libs.common.bus import Outgoing
from libs.common.contracts import IncidentUpdated
from libs.common.events import (
    INCIDENT_WARNING,
    NOTIFICATION,
    REPORT_RECEIVED,
    dead_letter_topic,
    new_event,
)
from libs.common.kafka import KafkaBus
from libs.common.tables import DeadLetter, ProcessedEvent
from services.intake.tables import Report
from tests.conftest import Broker, Running, eventually, make_settings, running
from tests.integration.test_intake_outcome import incident

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def a_report(n: int = 0, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "agency",
        "source_ref": f"K-{uuid.uuid4().hex[:8]}-{n}",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": "2026-11-20T09:30:00+08:00",
        "enterprise": {"name": "长春某建筑劳务有限公司", "credit_code": "91350100M000100Y43"},
        "category": "wage_arrears",
        "workers_involved": 35,
        "amount_yuan": "1200000.00",
        "reporter": {"name": "李四", "phone": "13800138000"},
    }
    body.update(overrides)
    return body


@pytest.fixture
async def system(pg_url: str, broker: Broker) -> AsyncIterator[Running]:
    """Intake alone: these tests play grading's part themselves."""
    settings = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap)
    async with running(settings, services="intake") as r:
        yield r


@pytest.fixture
async def whole(pg_url: str, broker: Broker) -> AsyncIterator[Running]:
    """Every service, in one process, over the broker."""
    settings = make_settings(database_url=pg_url, kafka_bootstrap_servers=broker.bootstrap)
    async with running(settings) as r:
        yield r


async def read_topic(bootstrap: str, topic: str, *, until: Any, timeout: float = 30) -> list[Any]:
    """Read a topic from the start with a group of our own until `until(records)` holds."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(records):
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
        # Anything more (a duplicate) would arrive promptly: read a little longer.
        batch = await consumer.getmany(timeout_ms=1500)
        records += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return records


async def produce(bootstrap: str, topic: str, values: list[bytes], key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def warning_event(incident_id: str, report_ids: list[str], *, event_id: str | None = None) -> bytes:
    """An update of an incident gathering the reports, as grading publishes it."""
    event = IncidentUpdated(incident=incident(report_ids, id_=incident_id)).to_event(
        subject=incident_id, key="changchun:x"
    )
    if event_id is not None:
        event = event.model_copy(update={"id": event_id})
    return event.to_bytes()


async def incident_of(system: Running, report_id: str) -> str | None:
    async with system.runtime.sessionmaker() as session:
        return await session.scalar(select(Report.incident_id).where(Report.id == report_id))


async def test_a_report_reaches_the_topic_exactly_once_as_a_cloudevent(
    system: Running, broker: Broker
) -> None:
    r = await system.client.post("/v1/reports", json=a_report(), headers=system.auth("reporter"))
    assert r.status_code == 202, r.text
    report_id = r.json()["id"]
    # A retry of the same request must not publish again.
    again = await system.client.post(
        "/v1/reports",
        json=a_report(source_ref=r.json()["source_ref"]),
        headers=system.auth("reporter"),
    )
    assert again.status_code == 200 and again.json()["id"] == report_id

    records = await read_topic(
        broker.bootstrap,
        REPORT_RECEIVED,
        until=lambda rs: any(report_id.encode() in x.value for x in rs),
    )
    mine = [x for x in records if orjson.loads(x.value)["subject"] == report_id]
    assert len(mine) == 1
    record = mine[0]
    assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
    assert record.key == b"changchun:91350100M000100Y43"
    event = JSONFormat().read(None, record.value)  # the official SDK accepts it
    assert event.get_type() == REPORT_RECEIVED
    assert event.get_source() == "/laborwatch/intake"
    data = event.get_data()
    assert isinstance(data, dict)
    assert data["report"]["id"] == report_id
    assert data["report"]["workers_involved"] == 35
    assert b"13800138000" not in record.value and "李四".encode() not in record.value


async def test_a_redelivered_event_changes_nothing(system: Running, broker: Broker) -> None:
    r = await system.client.post("/v1/reports", json=a_report(), headers=system.auth())
    report_id = r.json()["id"]
    event_id = str(uuid.uuid4())
    first = warning_event("incident-1", [report_id], event_id=event_id)
    # The same event id again, even with other content, must be recognised and skipped.
    redelivered = warning_event("incident-2", [report_id], event_id=event_id)
    await produce(broker.bootstrap, INCIDENT_WARNING, [first, first, redelivered])
    marker = str(uuid.uuid4())
    await produce(broker.bootstrap, INCIDENT_WARNING, [warning_event("marker", [marker])])

    async def marker_seen() -> bool:
        async with system.runtime.sessionmaker() as session:
            return bool(
                await session.scalar(
                    select(func.count())
                    .select_from(ProcessedEvent)
                    .where(ProcessedEvent.consumer == "intake.incidents")
                )
                == 2
            )

    await eventually(marker_seen, timeout=30)
    assert await incident_of(system, report_id) == "incident-1"


async def test_a_poison_event_goes_to_the_dlq_and_the_next_is_processed(
    system: Running, broker: Broker
) -> None:
    r = await system.client.post("/v1/reports", json=a_report(), headers=system.auth())
    report_id = r.json()["id"]
    not_json = b"\x00not a cloudevent"
    breaks_handler = new_event(
        service="grading", type_=INCIDENT_WARNING, key="k", data={"unexpected": True}
    ).to_bytes()
    await produce(
        broker.bootstrap,
        INCIDENT_WARNING,
        [not_json, breaks_handler, warning_event("incident-9", [report_id])],
    )

    async def placed() -> str | None:
        return await incident_of(system, report_id)

    assert await eventually(placed, timeout=30) == "incident-9"
    async with system.runtime.sessionmaker() as session:
        letters = list(
            (await session.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars()
        )
    assert [d.payload for d in letters] == [not_json, breaks_handler]
    assert letters[1].attempts == 3  # bounded retries (consumer_max_attempts in the test settings)
    # not as the contract has it (read by intake, which reads only where reports stand)
    assert "validation error for IncidentWarning" in letters[1].error

    dlq = await read_topic(
        broker.bootstrap, dead_letter_topic(INCIDENT_WARNING), until=lambda rs: len(rs) >= 2
    )
    assert sorted(x.value for x in dlq) == sorted([not_json, breaks_handler])


async def test_reports_are_accepted_while_the_broker_is_down_and_published_after(
    system: Running, broker: Broker
) -> None:
    await system.client.post("/v1/reports", json=a_report(), headers=system.auth())
    await read_topic(broker.bootstrap, REPORT_RECEIVED, until=lambda rs: len(rs) >= 1)

    broker.pause()
    try:
        ids = []
        for n in range(5):
            r = await system.client.post("/v1/reports", json=a_report(n), headers=system.auth())
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        ready = await system.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith("application/problem+json")
        assert ready.json()["checks"]["bus"].startswith("unavailable")
    finally:
        broker.resume()

    records = await read_topic(
        broker.bootstrap,
        REPORT_RECEIVED,
        timeout=60,
        until=lambda rs: {orjson.loads(x.value)["subject"] for x in rs} >= set(ids),
    )
    events_per_report: dict[str, set[str]] = {}
    for x in records:
        event = orjson.loads(x.value)
        events_per_report.setdefault(event["subject"], set()).add(event["id"])
    # An outage may make the relay send a batch twice; it is the same event (same id) each
    # time, so idempotent consumers apply it once.
    assert all(len(events_per_report[i]) == 1 for i in ids)
    assert (await system.client.get("/readyz")).status_code == 200


async def test_report_to_incident_to_warning_on_postgres_and_kafka(
    whole: Running, broker: Broker
) -> None:
    r = await whole.client.post(
        "/v1/reports", json=a_report(workers_involved=55), headers=whole.auth("reporter")
    )
    report_id = r.json()["id"]

    def has_warning(records: list[Any]) -> bool:
        return any(
            report_id in orjson.loads(x.value)["data"]["incident"]["report_ids"] for x in records
        )

    records = await read_topic(broker.bootstrap, INCIDENT_WARNING, until=has_warning)
    events = [orjson.loads(x.value) for x in records]
    mine = [e for e in events if report_id in e["data"]["incident"]["report_ids"]]
    assert len(mine) == 1
    event = JSONFormat().read(None, records[events.index(mine[0])].value)
    assert event.get_type() == INCIDENT_WARNING and event.get_source() == "/laborwatch/grading"
    warning = mine[0]["data"]["warning"]
    assert warning["level"] == "red"
    assert warning["routed_to"]["body_id"] == "changchun.leading_group"
    assert warning["reasons"] == ["workers_involved 55 >= 50 (涉及人数 55 ≥ 50 人)"]
    incident_id: str = mine[0]["subject"]

    async def learned() -> bool:
        return await incident_of(whole, report_id) == incident_id

    await eventually(learned, timeout=30)
    got = await whole.client.get(f"/v1/incidents/{incident_id}", headers=whole.auth())
    assert got.json()["level"] == "red" and got.json()["report_ids"] == [report_id]


async def test_drill_a_warning_nobody_acknowledges_climbs_to_the_top(
    pg_url: str, broker: Broker
) -> None:
    # Xuan'en level 1 is 6 h; at 21600× it is 1 s, and so is each step up the chain.
    settings = make_settings(
        database_url=pg_url,
        kafka_bootstrap_servers=broker.bootstrap,
        time_scale=21600,
        deadline_poll_seconds=0.05,
    )
    async with running(settings) as drill:
        body = a_report(
            jurisdiction="xuanen",
            region="zhushan",
            workers_involved=30,
            collective_action="possible",
        )
        r = await drill.client.post("/v1/reports", json=body, headers=drill.auth())
        assert r.status_code == 202

        async def chain() -> list[dict[str, Any]] | None:
            page = await drill.client.get(
                "/v1/notifications", params={"limit": 50}, headers=drill.auth()
            )
            items = [i for i in page.json()["items"] if i["kind"] == "responsible"]
            done = len(items) == 3 and all(i["status"] == "overdue" for i in items)
            return items if done else None

        items = sorted(await eventually(chain, timeout=60), key=lambda i: i["issued_at"])
        assert [i["body_id"] for i in items] == [
            "xuanen.zhushan.tripartite",
            "xuanen.county.tripartite",
            "xuanen.prefecture.tripartite",
        ]
        assert items[0]["escalated_from"] is None
        assert items[1]["escalated_from"] == items[0]["id"]
        assert items[2]["escalated_from"] == items[1]["id"]
        assert all(i["drill"] for i in items)
        for i in items:
            limit = dt.datetime.fromisoformat(i["due_at"]) - dt.datetime.fromisoformat(
                i["issued_at"]
            )
            assert limit == dt.timedelta(seconds=1)

        def kinds(records: list[Any]) -> list[str]:
            return [orjson.loads(x.value)["data"]["kind"] for x in records]

        records = await read_topic(
            broker.bootstrap,
            NOTIFICATION,
            timeout=60,
            until=lambda rs: kinds(rs).count("overdue") >= 3,
        )
        seen = kinds(records)
        assert seen.count("overdue") == 3 and seen.count("escalated") == 2
        metrics = (await drill.client.get("/metrics")).text
        assert 'laborwatch_escalations_total{jurisdiction="xuanen"}' in metrics
        incident = await drill.client.get(
            f"/v1/incidents/{items[0]['incident_id']}", headers=drill.auth()
        )
        timeline = [e["kind"] for e in incident.json()["timeline"]]

        async def timeline_complete() -> bool:
            got = await drill.client.get(
                f"/v1/incidents/{items[0]['incident_id']}", headers=drill.auth()
            )
            return [e["kind"] for e in got.json()["timeline"]].count("notification_overdue") == 3

        await eventually(timeline_complete, timeout=30)
        assert "level_raised" in timeline


async def test_a_published_batch_keeps_each_keys_order_and_kafkas_partitions(
    broker: Broker,
) -> None:
    bus = KafkaBus(broker.bootstrap)
    keys = [f"changchun:{uuid.uuid4().hex[:8]}" for _ in range(12)]
    # Enough, and large enough, for several record batches per partition (2 MB in all).
    messages = [
        Outgoing(REPORT_RECEIVED, keys[n % len(keys)], orjson.dumps({"n": n, "pad": "x" * 3400}))
        for n in range(600)
    ]
    await bus.start()
    producer = bus._producer
    assert producer is not None
    batches = 0
    send_batch = producer.send_batch

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal batches
        batches += 1
        return await send_batch(*args, **kwargs)

    producer.send_batch = counted
    try:
        await bus.publish(messages[:1])
        await bus.publish(messages[1:])
    finally:
        await bus.stop()
    # A partition's batches leave one after another: a relay's worth goes in a few large ones
    # (256 KB), not in some 150 of aiokafka's default 16 KB.
    assert 4 <= batches <= 16

    records = await read_topic(broker.bootstrap, REPORT_RECEIVED, until=lambda rs: len(rs) >= 600)
    assert len(records) == 600
    partitions = sorted({r.partition for r in records})
    for key in keys:
        mine = [r for r in records if r.key == key.encode()]
        assert [orjson.loads(r.value)["n"] for r in mine] == list(
            range(keys.index(key), 600, len(keys))
        )
        expected = DefaultPartitioner()(key.encode(), list(range(bus.partitions)), [])
        assert {r.partition for r in mine} == {expected}
        assert dict(mine[0].headers)["content-type"] == b"application/cloudevents+json"
    assert len(partitions) > 1

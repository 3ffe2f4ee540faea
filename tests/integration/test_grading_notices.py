"""What the notifier did, in grading's timeline: most of it only lengthens the timeline (the
incident is locked, not loaded, and its anchor set at commit); an escalation changes the
incident. Mixed in one batch, the anchor still names the chain's head and length."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from libs.common.bus import Delivered
from libs.common.contracts import NotificationEvent, ReportData, ReportReceived
from libs.common.events import NOTIFICATION, REPORT_RECEIVED
from libs.common.runtime import Runtime
from services.grading.audit import verify_chain
from services.grading.consumers import consumers
from services.grading.outcome import notice_entry
from services.grading.policy import load_policies
from services.grading.service import Grading
from services.grading.tables import Incident, TimelineEntry
from tests.conftest import make_settings, truncate_all
from tests.integration.test_grading_flow import received


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database, migrated."""
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
async def grading_alone(database_url: str) -> AsyncIterator[tuple[Runtime, Grading]]:
    """Grading alone, its consumers driven by the test."""
    runtime = Runtime.from_settings(make_settings(database_url=database_url))
    await truncate_all(runtime)
    policies = load_policies(runtime.registry)
    outbox = runtime.outbox("grading")
    yield runtime, Grading(runtime.sessionmaker, runtime.registry, policies, outbox, runtime.clock)
    await runtime.engine.dispose()


def notice(kind: str, incident_id: str, **more: Any) -> NotificationEvent:
    """A notifier event of a notification of the incident's responsible body."""
    now = dt.datetime.now(dt.UTC)
    notification = {
        "id": "n1",
        "incident_id": incident_id,
        "jurisdiction": "changchun",
        "body_id": "changchun.leading_group_office",
        "kind": "responsible",
        "level": "yellow",
        "level_label": "二级黄色预警",
        "issued_at": now,
        "due_at": now,
        "status": "pending",
        "acknowledged_at": None,
        "acknowledgement": None,
        "late": False,
        "escalated_from": None,
        "escalation_chain": [],
        "drill": False,
    }
    return NotificationEvent(kind=kind, incident_id=incident_id, notification=notification, **more)


async def placed(runtime: Runtime, grading: Grading, enterprise: str) -> Incident:
    """The incident grading opens for a report of 20 workers on the enterprise."""
    report = received(enterprise, 20)
    event = ReportReceived(report=ReportData.model_validate(report)).to_event(
        subject=report["id"], key="k"
    )
    on_reports, _ = (runtime.runner(c, grading.outbox) for c in consumers(grading))
    await on_reports.process(Delivered(REPORT_RECEIVED, "k", event.to_bytes(), 0, 0))
    async with runtime.sessionmaker() as session:
        incident: Incident | None = await session.scalar(select(Incident))
    assert incident is not None
    return incident


def delivered(events: list[NotificationEvent]) -> list[Delivered]:
    """The events as the consumer receives them, at offsets 0, 1, …"""
    return [
        Delivered(NOTIFICATION, "k", e.to_event(subject="n1", key="k").to_bytes(), 0, offset)
        for offset, e in enumerate(events)
    ]


async def test_notices_and_an_escalation_in_one_batch_keep_the_anchor_true(
    grading_alone: tuple[Runtime, Grading],
) -> None:
    """Sent, escalated and acknowledged in one batch, with a notice of an incident that does not
    exist; then two closings in another: every entry sealed in order, the escalated body among
    the incident's bodies, and the row's anchor naming the chain's last entry and its length."""
    runtime, grading = grading_alone
    incident = await placed(runtime, grading, "时间线锚点企业有限公司")
    _, on_notices = (runtime.runner(c, grading.outbox) for c in consumers(grading))
    first = [
        notice("sent", incident.id),
        notice("escalated", incident.id, escalated_to="changchun.leading_group"),
        notice("sent", "no-such-incident"),
        notice("acknowledged", incident.id),
    ]
    await on_notices.process_batch(delivered(first))
    await on_notices.process_batch(delivered([notice("closed", incident.id)] * 2))

    async with runtime.sessionmaker() as session:
        query = select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
        entries = list(await session.scalars(query.order_by(TimelineEntry.id)))
        again = await session.get(Incident, incident.id)
    assert again is not None
    kinds = [e.kind for e in entries]
    assert kinds[-5:] == [
        "notification_sent",
        "notification_escalated",
        "notification_acknowledged",
        "notification_closed",
        "notification_closed",
    ], kinds
    assert verify_chain(entries)
    assert (again.timeline_head, again.timeline_entries) == (entries[-1].hash, len(entries))
    assert "changchun.leading_group" in again.bodies


async def test_an_incident_loaded_after_its_timeline_grew_in_the_transaction_keeps_count(
    grading_alone: tuple[Runtime, Grading],
) -> None:
    """Within one transaction, an entry appended without loading the incident, then the
    incident loaded and changed: the anchor counts both entries, whichever write lands last."""
    runtime, grading = grading_alone
    incident_id = (await placed(runtime, grading, "先追加后加载企业有限公司")).id
    now = dt.datetime.now(dt.UTC)
    async with runtime.sessionmaker.begin() as session:
        sent = notice_entry("sent", {"notification_id": "n1"}, None)
        assert await grading.store.append(session, incident_id, sent, now)
        incident = await grading.store.locked(session, incident_id)
        assert incident is not None
        detail = {"escalated_to": "changchun.leading_group"}
        await grading.store.record(
            session, incident, incident.noticed("escalated", detail, None), now
        )

    async with runtime.sessionmaker() as session:
        query = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
        entries = list(await session.scalars(query.order_by(TimelineEntry.id)))
        again = await session.get(Incident, incident_id)
    assert again is not None and verify_chain(entries)
    assert [e.kind for e in entries[-2:]] == ["notification_sent", "notification_escalated"]
    assert (again.timeline_head, again.timeline_entries) == (entries[-1].hash, len(entries))

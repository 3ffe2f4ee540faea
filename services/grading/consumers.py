"""What grading learns from events: reports to grade and reports revealed (reports topic),
and what the notifier did (notifications topic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
from libs.common.contracts import NotificationEvent, ReportReceived, ReportRevealed
from libs.common.events import CloudEvent
from services.grading.service import Grading, Notice


def consumers(grading: Grading) -> list[Consumer]:
    """Grading's consumers."""
    # The batch's reports, read once when it is prepared (event id -> its data), not again by
    # each handler: validating a report's data is a few per cent of grading's time a report.
    read: dict[str, ReportReceived] = {}

    async def on_report(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == ReportRevealed.type_:
            await grading.on_revealed(session, ReportRevealed.of(event))
        elif event.type == ReportReceived.type_:
            received = read.pop(event.id, None) or ReportReceived.of(event)
            await grading.on_report(session, received.report)

    async def prepare_reports(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        read.clear()
        read.update((e.id, ReportReceived.of(e)) for e in events if e.type == ReportReceived.type_)
        await grading.prepare_reports(session, [r.report for r in read.values()])

    async def on_notification(session: AsyncSession, event: CloudEvent) -> None:
        notice = notice_of(event)
        if notice is not None:
            await grading.on_notice(session, notice)

    async def prepare_notifications(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        # An id that is not a string is not looked up here: its event fails alone, later.
        kinds: dict[str, set[str]] = {}
        for e in events:
            if isinstance(incident_id := e.data.get("incident_id"), str):
                kinds.setdefault(incident_id, set()).add(str(e.data.get("kind")))
        await grading.prepare_notices(session, kinds)

    return [
        Consumer(
            name="grading.reports",
            topics=(ReportReceived.topic,),
            apply=each(on_report, prepare=prepare_reports),
        ),
        Consumer(
            name="grading.notifications",
            topics=(NotificationEvent.topic,),
            apply=each(on_notification, prepare=prepare_notifications),
        ),
    ]


def notice_of(event: CloudEvent) -> Notice | None:
    """What a notifier event says for the timeline: through the published model, or, from a
    notifier that does not fill it all yet, tolerantly from its fields."""
    try:
        typed = NotificationEvent.of(event)
    except ValidationError:
        return _loose_notice(event.data)
    n, ack = typed.notification, typed.notification.acknowledgement
    detail: dict[str, Any] = {
        "notification_id": n.id,
        "body_id": n.body_id,
        "level": n.level,
        "status": n.status,
    }
    if n.closed_reason is not None:
        detail["closed_reason"] = n.closed_reason
    if typed.escalated_to is not None:
        detail["escalated_to"] = typed.escalated_to
    if ack is not None and typed.kind == "acknowledged":
        detail |= {"by": ack.by, "via": ack.via, "acknowledged_at": ack.at.isoformat()}
    note = ack.note if ack is not None and typed.kind == "acknowledged" else None
    return Notice(typed.kind, typed.incident_id, detail, note)


def _loose_notice(data: dict[str, Any]) -> Notice | None:
    incident_id = data.get("incident_id")
    if not isinstance(incident_id, str):
        raise ValueError("a notification event without an incident_id")
    n = data.get("notification") if isinstance(data.get("notification"), dict) else {}
    assert isinstance(n, dict)
    detail = {k: n.get(k) for k in ("id", "body_id", "level", "status")}
    detail["notification_id"] = detail.pop("id")
    for name in ("closed_reason",):
        if n.get(name) is not None:
            detail[name] = n[name]
    if isinstance(data.get("escalated_to"), str):
        detail["escalated_to"] = data["escalated_to"]
    ack = n.get("acknowledgement") if isinstance(n.get("acknowledgement"), dict) else None
    note = None
    if ack is not None and data.get("kind") == "acknowledged":
        detail |= {k: ack.get(k) for k in ("by", "via")}
        note = ack.get("note") if isinstance(ack.get("note"), str) else None
    return Notice(str(data.get("kind", "event")), incident_id, detail, note)

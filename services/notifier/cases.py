"""What the notifier learns from the cases service (`laborwatch.case.v1`):

- `closed`: the incident's pending notifications close (`case_closed`);
- `government_report`: the government body is told, through its channels, in Chinese;
- `form_filed`: the form is the responsible body's report (报送, seed 000 三(五)): it
  acknowledges that body's notification at the form's level (`via: "form"`; filed after
  `due_at` it is late, 迟报), and the form goes to the bodies the policy names, as a message with
  a link to its `.docx` (`/v1/cases/{id}/form.docx`).

A message to a body about a case is a notification of its own to that body, kind `copy`
(closed as made, as every copy: it needs no acknowledgement), whose summary carries the
message (`case_message`); the delivery queue sends it with its retries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.clock import SHANGHAI
from libs.common.consumer import Consumer, each
from libs.common.contracts import CaseData, CaseEvent
from libs.common.events import CloudEvent
from services.notifier.channels import Message
from services.notifier.domain import ClosedReason, Kind, Notice, Notification, Status, Via
from services.notifier.service import Notifier
from services.notifier.tables import Notification as Row

_STAGE_ZH = {"before": "事前预警情况", "during": "事中处置预案", "after": "事后处置结果"}


def case_consumer(notifier: Notifier, *, public_url: str, console_url: str) -> Consumer:
    """The notifier's consumer of case events. A filed form's message links the case's page in
    the console (for people, who sign in there) and the form through the API (for machines)."""

    async def on_case(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != CaseEvent.type_:
            return
        step = CaseEvent.of(event)
        if step.step == "closed":
            await close_pending(notifier, session, step)
        elif step.step == "government_report":
            await tell_government(notifier, session, event.id, step)
        elif step.step == "form_filed":
            await form_filed(
                notifier, session, event.id, step, public_url=public_url, console_url=console_url
            )

    return Consumer(name="notifier.cases", topics=(CaseEvent.topic,), apply=each(on_case))


async def close_pending(notifier: Notifier, session: AsyncSession, event: CaseEvent) -> None:
    """The case closed: what is pending for its incident closes (`case_closed`)."""
    now = notifier.clock.now()
    for n in await notifier.store.pending_of(session, event.case.incident_id):
        if n.close(ClosedReason.CASE_CLOSED, at=now):
            notifier.store.save(session, n)
            notifier.announce(session, n, "closed")


async def tell_government(
    notifier: Notifier, session: AsyncSession, event_id: str, event: CaseEvent
) -> None:
    """A report to the government body: a message to it."""
    report = event.case.government_reports[-1]
    body = notifier.wording.body_name(report.to_body.body_id)
    subject = f"{_title(event.case)}书面报告（{_STAGE_ZH[report.stage]}）"
    text = (
        f"{body}：{_title(event.case)}，{_STAGE_ZH[report.stage]}报告如下。\n"
        f"{report.content}\n"
        f"报告人：{report.by}；报告时间：{_local(report.at)}。"
    )
    await _send(
        notifier,
        session,
        f"case:{event_id}",
        report.to_body.body_id,
        event.case,
        subject=subject,
        text=text,
    )


async def form_filed(
    notifier: Notifier,
    session: AsyncSession,
    event_id: str,
    event: CaseEvent,
    *,
    public_url: str,
    console_url: str,
) -> None:
    """The form was filed: it acknowledges the responsible body's notification at its level,
    and goes to the bodies the policy names."""
    case, form = event.case, event.case.form
    assert form is not None
    query = select(Row.id).where(
        Row.incident_id == case.incident_id,
        Row.kind == Kind.RESPONSIBLE.value,
        Row.body_id == case.responsible_body.body_id,
        Row.level == (form.level or ""),
        Row.status.in_([Status.PENDING.value, Status.OVERDUE.value]),
    )
    for notification_id in list(await session.scalars(query)):
        n = await notifier.store.get_for_update(session, notification_id)
        if n is not None:
            await _acknowledge(notifier, session, n, at=form.filed_at, by=form.filed_by)
    link = f"{public_url.rstrip('/')}/v1/cases/{case.id}/form.docx"
    page = f"{console_url.rstrip('/')}/console/cases/{case.id}"
    subject = f"{form.level_label or ''}预警信息情况表（{form.reporting_unit}）"
    text = (
        f"{form.reporting_unit}报送{_title(case)}预警信息情况表，"
        f"填报时间{_local(form.filed_at)}{'（迟报）' if form.on_time is False else ''}。"
        f"请登录系统查看情况表并下载 Word 文档：{page}"
    )
    for to in form.send_to:
        await _send(
            notifier,
            session,
            f"case:{event_id}",
            to.body_id,
            case,
            subject=subject,
            text=text,
            extra={"form_url": link, "case_page": page},
        )


async def _acknowledge(
    notifier: Notifier, session: AsyncSession, n: Notification, *, at: dt.datetime, by: str
) -> None:
    done = n.acknowledge(at=at, by=by, note="预警信息情况表已报送", via=Via.FORM)
    if done is None:
        return
    notifier.store.save(session, n)
    if done.late_report is not None and done.late_report_exists:
        await notifier.store.answer_late_report(session, n.id, at)
    elif done.late_report is not None:
        notifier.store.add_late_report(session, done.late_report)
    notifier.announce(session, n, "acknowledged")


async def _send(
    notifier: Notifier,
    session: AsyncSession,
    warning_id: str,
    body_id: str,
    case: CaseData,
    *,
    subject: str,
    text: str,
    extra: dict[str, Any] | None = None,
) -> None:
    if await notifier.store.exists(session, warning_id, body_id):
        return
    jurisdiction = notifier.registry.get(case.jurisdiction)
    now = notifier.clock.now()
    notice = Notice(
        incident_id=case.incident_id,
        jurisdiction=case.jurisdiction,
        level=case.level or "none",
        level_label=case.level_label or "无预警级别",
        level_rank=case.level_rank,
        policy=jurisdiction.policy.id if jurisdiction else "",
        issued_at=now,
        limit_seconds=0.0,
        summary={
            "case_id": case.id,
            "case_message": {"subject": subject, "text": text, **(extra or {})},
        },
        regions=list(case.regions),
        event_key=case.incident_id,
        drill=case.drill,
    )
    made = Notification.issue(
        notice,
        warning_id=warning_id,
        body_id=body_id,
        kind=Kind.COPY,
        chain=(),
        fractions=(),
        now=now,
    )
    await notifier.issue(session, made, now=now)


def case_message(n: Notification, delivery_id: int) -> Message | None:
    """The message of a notification about a case (None for a warning's)."""
    custom = n.summary.get("case_message")
    if not isinstance(custom, dict):
        return None
    subject, text = str(custom.get("subject", "")), str(custom.get("text", ""))
    return Message(
        message_id=f"lw-delivery-{delivery_id}",
        subject=subject,
        text=text,
        short=text[:300],
        payload={"subject": subject, "text": text, **custom},
    )


def _title(case: CaseData) -> str:
    return f"{case.level_label or ''}处置案件" if case.level_label else "处置案件"


def _local(at: dt.datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")

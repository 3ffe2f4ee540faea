"""The one-click acknowledgement pages a message links to: the warning, a note, a button; the
confirmation after it; an error page for a link that is not (or no longer) good. In Chinese."""

from __future__ import annotations

from html import escape

from services.notifier.domain import ClosedReason, Notification, Status
from services.notifier.messages import DRILL, Wording, beijing_time

_CLOSED = {
    ClosedReason.SUPERSEDED: "预警级别已升级，本通知已由新的通知替代",
    ClosedReason.LIFTED: "预警已经评估调整或解除",
    ClosedReason.CASE_CLOSED: "事件已经处置结案",
    ClosedReason.COPY: "本通知为抄送，无需确认",
}
_STYLE = (
    "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em;line-height:1.6}"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.3em .6em;"
    "text-align:left;vertical-align:top}th{width:11em;background:#f3f3f3}"
    "textarea{width:100%;min-height:6em}button{font-size:1.1em;padding:.4em 1.6em}"
    ".drill{color:#b00;font-weight:bold}"
)


def _page(title: str, body: str, *, drill: bool = False) -> str:
    mark = f'<p class="drill">{DRILL}本通知为演练，不涉及真实事件。</p>' if drill else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{mark}<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _facts(wording: Wording, n: Notification) -> str:
    rows = [("接收单位", wording.body_name(n.body_id)), *wording.facts(n)]
    if n.due_at is not None:
        rows.append(("确认时限", f"{beijing_time(n.due_at)}（北京时间）"))
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def ack_page(wording: Wording, n: Notification, *, action: str) -> str:
    """The warning a link acknowledges, and a form to acknowledge it with a note."""
    facts = _facts(wording, n)
    if n.status is Status.ACKNOWLEDGED:
        return confirmation_page(wording, n)
    if n.status is Status.CLOSED:
        reason = _CLOSED.get(n.closed_reason, "本通知已关闭") if n.closed_reason else "本通知已关闭"
        return _page("预警通知已关闭", f"<p>{escape(reason)}。</p>{facts}", drill=n.drill)
    late = (
        "<p><strong>已超过确认时限，确认将记为迟报。</strong></p>"
        if n.status is Status.OVERDUE
        else ""
    )
    form = (
        f'<form method="post" action="{escape(action)}">'
        '<p><label for="note">处置情况说明（选填）</label><br>'
        '<textarea id="note" name="note" maxlength="2000"></textarea></p>'
        '<p><button type="submit">确认收到</button></p></form>'
    )
    return _page("确认收到预警", f"{late}{facts}{form}", drill=n.drill)


def confirmation_page(wording: Wording, n: Notification) -> str:
    """What the body sees once the warning is acknowledged."""
    at = beijing_time(n.acknowledged_at) if n.acknowledged_at else "—"
    late = "（已超过确认时限，记为迟报）" if n.late else ""
    note = f"<p>说明：{escape(n.ack_note)}</p>" if n.ack_note else ""
    body = (
        f"<p>{escape(wording.body_name(n.body_id))}已于 {at}（北京时间）确认收到本预警{late}。"
        "请按要求及时处置并报送情况。</p>"
        f"{note}{_facts(wording, n)}"
    )
    return _page("已确认收到预警", body, drill=n.drill)


def error_page(message: str) -> str:
    """A link that cannot be used: why, and what to do instead."""
    body = f"<p>{escape(message)}</p><p>请登录劳动关系风险监测预警系统确认，或联系值班人员。</p>"
    return _page("无法使用此确认链接", body)

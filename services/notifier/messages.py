"""What a body reads: each channel's message of a notification, in Chinese.

Labels and names are Chinese (regions and bodies from the registry, categories, collective
action), reasons are grading's Chinese ones where it sent them, times are Beijing time
(`2026年11月21日 15:31`), and a drill's messages start with 【演练】.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from libs.common.clock import SHANGHAI
from libs.common.jurisdictions import Registry
from services.notifier.channels import Message
from services.notifier.domain import Kind, Notification, Purpose

DRILL = "【演练】"

CATEGORIES = {
    "labor_contract": "劳动合同",
    "wage_arrears": "拖欠工资",
    "labor_dispatch": "劳务派遣",
    "hr_outsourcing": "人力资源服务外包",
    "work_injury": "工伤认定",
    "retirement": "退休认定",
    "public_opinion": "舆情",
    "social_insurance": "社会保险",
    "working_hours": "工作时间",
    "rest_leave": "休息休假",
    "collective_contract": "集体合同",
    "layoff": "裁员",
    "other": "其他",
}
COLLECTIVE_ACTION = {"none": "无", "possible": "可能发生", "occurred": "已经发生"}


# "rule figures (中文说明)": the gloss in brackets at the end, brackets inside it allowed.
_GLOSSED = re.compile(
    r"^.*?\s*[(（](?P<zh>[^()（）]*[\u4e00-\u9fff][^()（）]*"
    r"(?:[(（][^()（）]*[)）][^()（）]*)*)[)）]$"
)


_CJK = re.compile("[\u4e00-\u9fff]")


def reasons_in_chinese(summary: Mapping[str, Any]) -> list[str]:
    """The reasons in Chinese: grading's `reasons_zh`; else its reasons, each by the Chinese
    gloss it ends with (`workers_involved 35 >= 20 (涉及人数 35 ≥ 20 人)`), where it has one."""
    if summary.get("reasons_zh"):
        return list(summary["reasons_zh"])
    shown = []
    for reason in summary.get("reasons") or []:
        m = _GLOSSED.match(reason)
        # A rule's id and figures before the gloss are for machines; Chinese before it stays.
        english = m is not None and not _CJK.search(reason[: m.start("zh")])
        shown.append(m.group("zh") if m and english else reason)
    return shown


def beijing_time(at: dt.datetime) -> str:
    """A time as people read it here: `2026年11月21日 15:31` (Beijing time)."""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def yuan(amount: Any) -> str:
    """An amount of money in yuan, with separators: `1,200,000.00 元`."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return "—"
    return f"{value:,.2f} 元"


@dataclass(frozen=True)
class Wording:
    """Names and labels from the registry, and the messages built with them."""

    registry: Registry

    def body_name(self, body_id: str | None) -> str:
        """A body's Chinese name (its id if unknown)."""
        found = self.registry.body(body_id) if body_id else None
        return found[1].name if found else (body_id or "—")

    def region_names(self, jurisdiction: str, regions: Iterable[str]) -> str:
        """Regions by their Chinese names, joined with 、."""
        j = self.registry.get(jurisdiction)
        names = {r.id: r.name for r in j.regions} if j else {}
        return "、".join(names.get(r, r) for r in regions) or "—"

    def facts(self, n: Notification) -> list[tuple[str, str]]:
        """The essentials of a notification's warning, as (label, value) lines."""
        s = n.summary
        enterprise = s.get("enterprise") or "（未提供）"
        if s.get("credit_code"):
            enterprise += f"（统一社会信用代码 {s['credit_code']}）"
        categories = s.get("categories") or [s.get("category")]
        reasons = reasons_in_chinese(s)
        return [
            ("预警级别", n.level_label),
            ("预警企业", enterprise),
            ("所在区域", self.region_names(n.jurisdiction, s.get("regions") or n.regions)),
            ("问题类别", "、".join(CATEGORIES.get(c, c) for c in categories if c) or "—"),
            ("涉及人数", f"{s.get('workers_involved') or 0} 人"),
            ("涉及金额", yuan(s.get("amount_yuan") or 0)),
            ("解除劳动关系", f"{s.get('terminations') or 0} 人"),
            (
                "群体性事件或集体停工",
                COLLECTIVE_ACTION.get(s.get("collective_action") or "none", "—"),
            ),
            ("预警依据", "；".join(reasons) or "—"),
        ]

    def subject(self, n: Notification, purpose: Purpose) -> str:
        """The subject line (email) and the head of the short message."""
        head = "提醒：" if purpose is Purpose.REMINDER else ""
        if n.escalated_from:
            head += "逾期升级："
        enterprise = n.summary.get("enterprise") or "劳动纠纷"
        return (
            f"{DRILL if n.drill else ''}{head}【{n.level_label}】{enterprise} 劳动关系领域风险预警"
        )

    def text(self, n: Notification, purpose: Purpose, link: str | None) -> str:
        """The full message (email, the webhook's `text`)."""
        lines = [DRILL + "本通知为演练，不涉及真实事件。"] if n.drill else []
        lines += [f"{self.body_name(n.body_id)}：", ""]
        if purpose is Purpose.REMINDER:
            lines += ["以下预警尚未确认，请抓紧处置并报送。", ""]
        lines += [f"{label}：{value}" for label, value in self.facts(n)]
        lines.append(f"接收单位：{self.body_name(n.body_id)}")
        if n.summary.get("escalated_from_body"):
            lower = self.body_name(n.summary["escalated_from_body"])
            lines.append(f"原责任单位{lower}未在时限内确认，现逐级上报。")
        if n.kind is Kind.COPY:
            lines.append("本通知为抄送，供知悉，无需确认。")
        elif n.due_at is not None:
            lines.append(
                f"请于 {beijing_time(n.due_at)}（北京时间）前确认并上报，不得瞒报、漏报或拖延。"
            )
        if link:
            lines += ["", f"一键确认：{link}"]
        return "\n".join(lines) + "\n"

    def short(self, n: Notification, purpose: Purpose, link: str | None) -> str:
        """The short message (SMS): the essentials, the figures, the deadline and the link."""
        s = n.summary
        regions = self.region_names(n.jurisdiction, s.get("regions") or n.regions)
        action = COLLECTIVE_ACTION.get(s.get("collective_action") or "none", "—")
        text = (
            f"{self.subject(n, purpose)}：{regions}，涉及{s.get('workers_involved') or 0}人、"
            f"金额{yuan(s.get('amount_yuan') or 0)}，群体性事件或集体停工：{action}。"
            f"接收单位：{self.body_name(n.body_id)}。"
        )
        if n.kind is Kind.RESPONSIBLE and n.due_at is not None:
            text += f"请于{beijing_time(n.due_at)}前确认"
            text += f"：{link}" if link else "。"
        else:
            text += "抄送知悉，无需确认。"
        return text

    def message(
        self, n: Notification, *, purpose: Purpose, delivery_id: int, link: str | None
    ) -> Message:
        """A delivery's message: the texts for people, a JSON payload for machines."""
        subject = self.subject(n, purpose)
        text = self.text(n, purpose, link)
        return Message(
            message_id=f"lw-delivery-{delivery_id}",
            subject=subject,
            text=text,
            short=self.short(n, purpose, link),
            payload={"subject": subject, "text": text, "ack_url": link},
        )

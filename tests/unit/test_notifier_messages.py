"""The words of a message: Chinese labels and names, the essentials, the link, 【演练】."""

from __future__ import annotations

import dataclasses
import datetime as dt

from libs.common.jurisdictions import Registry
from services.notifier.domain import Kind, Notice, Notification, Purpose
from services.notifier.messages import Wording, beijing_time, reasons_in_chinese

ISSUED = dt.datetime(2026, 11, 21, 1, 31, tzinfo=dt.UTC)  # 09:31 in Beijing
LINK = "https://lw.example.gov.cn/ack/TOKEN"


def notification(*, kind: Kind = Kind.RESPONSIBLE, drill: bool = False) -> Notification:
    notice = Notice(
        incident_id="i-1",
        jurisdiction="xuanen",
        level="level1",
        level_label="一级预警",
        level_rank=1,
        policy="xuanen-2021",
        issued_at=ISSUED,
        limit_seconds=6 * 3600,
        summary={
            "enterprise": "宣恩某建筑劳务有限公司",
            "credit_code": None,
            "category": "wage_arrears",
            "categories": ["wage_arrears", "layoff"],
            "regions": ["gaoluo", "zhushan"],
            "workers_involved": 30,
            "amount_yuan": "800000.00",
            "terminations": 0,
            "collective_action": "occurred",
            "reasons": ["collective_action occurred (已经发生群体性事件或集体停工)"],
            "reasons_zh": ["已经发生集体停工（30 人）"],
        },
        regions=["gaoluo", "zhushan"],
        event_key="xuanen:宣恩某建筑劳务",
        drill=drill,
    )
    return Notification.issue(
        notice,
        warning_id="w",
        body_id="xuanen.gaoluo.tripartite",
        kind=kind,
        chain=[],
        fractions=(),
        now=ISSUED,
    )


WORDING = Wording(Registry.load())


def test_times_are_shown_in_beijing_time_the_chinese_way() -> None:
    assert beijing_time(ISSUED + dt.timedelta(hours=6)) == "2026年11月21日 15:31"


def test_grading_reasons_in_chinese_come_first() -> None:
    assert reasons_in_chinese({"reasons": ["x (中)"], "reasons_zh": ["中文理由"]}) == ["中文理由"]
    assert reasons_in_chinese({"reasons": ["workers_involved 35 >= 20 (涉及人数 35 ≥ 20 人)"]}) == [
        "涉及人数 35 ≥ 20 人"
    ]


def test_the_full_text_names_everything_in_chinese() -> None:
    text = WORDING.text(notification(), Purpose.NOTICE, LINK)
    assert text.startswith("高罗镇协调劳动关系三方机制：")
    for line in (
        "预警企业：宣恩某建筑劳务有限公司",
        "所在区域：高罗镇、珠山镇",
        "问题类别：拖欠工资、裁员",
        "涉及金额：800,000.00 元",
        "群体性事件或集体停工：已经发生",
        "预警依据：已经发生集体停工（30 人）",
        "请于 2026年11月21日 15:31（北京时间）前确认并上报",
        f"一键确认：{LINK}",
    ):
        assert line in text, line


def test_the_short_message_carries_the_figures_the_deadline_and_the_link() -> None:
    sms = WORDING.short(notification(), Purpose.REMINDER, LINK)
    assert sms.startswith("提醒：【一级预警】宣恩某建筑劳务有限公司")
    assert "高罗镇、珠山镇" in sms and "涉及30人" in sms and "800,000.00 元" in sms
    assert "已经发生" in sms and "2026年11月21日 15:31" in sms and sms.endswith(LINK)


def test_a_copy_asks_for_nothing_and_a_drill_says_so_first() -> None:
    copy = notification(kind=Kind.COPY)
    assert "无需确认" in WORDING.text(copy, Purpose.NOTICE, None)
    assert "无需确认" in WORDING.short(copy, Purpose.NOTICE, None)
    drill = dataclasses.replace(notification(), drill=True)
    message = WORDING.message(drill, purpose=Purpose.NOTICE, delivery_id=1, link=LINK)
    assert message.subject.startswith("【演练】")
    assert message.text.startswith("【演练】")
    assert message.short.startswith("【演练】")

"""A made-up history of one city, as the events the services would have published: reports,
incidents and their warnings, notifications (acknowledged on time, late, or not at all) and
cases. For the briefing's pictures and insight's benchmark; seeded, so the same every run."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal

from libs.common.contracts import (
    AlertData,
    BodyRef,
    CaseClosure,
    CaseData,
    CaseEvent,
    CasePlan,
    EnterpriseRef,
    IncidentData,
    IncidentUpdated,
    IncidentWarning,
    MonitoringAlert,
    NotificationData,
    NotificationEvent,
    ReportData,
    ReportReceived,
    WarningData,
)
from libs.common.events import CloudEvent

REGIONS = ("nanguan", "kuancheng", "chaoyang", "erdao", "lvyuan", "shuangyang", "jiutai", "nongan")
CATEGORIES = ("wage_arrears",) * 5 + ("labor_contract", "layoff", "labor_dispatch", "work_injury")
SOURCES = ("agency",) * 3 + ("hotline_12345", "hotline_12345", "hotline_12333", "media")
INDUSTRIES = ("建筑业",) * 4 + ("制造业", "批发和零售业", "住宿和餐饮业", "交通运输业")
# (level, label, rank, responsible body, hours to report)
LEVELS = (
    ("red", "一级红色预警", 3, "changchun.leading_group", 1),
    ("yellow", "二级黄色预警", 2, "changchun.leading_group_office", 6),
    ("blue", "三级蓝色预警", 1, "changchun.leading_group_office", 24),
)
_ID = uuid.UUID("6f1c0f3e-4c63-4d53-9b7a-7a1d9a0c2b11")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_ID, "/".join(map(str, parts))))


def _level(rng: random.Random) -> tuple[str, str, int, str, int] | None:
    roll = rng.random()
    if roll < 0.04:
        return LEVELS[0]
    if roll < 0.16:
        return LEVELS[1]
    return LEVELS[2] if roll < 0.40 else None


def history(
    start: dt.date, end: dt.date, *, per_day: float = 2.0, seed: int = 7
) -> Iterator[CloudEvent]:
    """Events from `start` to `end` (days in Shanghai, 09:00-18:00): about `per_day` incidents
    a day, each of one to three reports."""
    rng = random.Random(seed)  # noqa: S311 (made-up data, not a secret)
    day, n = start, 0
    while day <= end:
        for _ in range(int(per_day) + (rng.random() < per_day % 1)):
            n += 1
            yield from _incident(rng, day, n)
        if rng.random() < 0.08:
            yield _alert(rng, day)
        day += dt.timedelta(days=1)


def _incident(rng: random.Random, day: dt.date, n: int) -> Iterator[CloudEvent]:
    opened = dt.datetime(day.year, day.month, day.day, 1, tzinfo=dt.UTC) + dt.timedelta(
        minutes=rng.randrange(540)
    )
    region, category = rng.choice(REGIONS), rng.choice(CATEGORIES)
    firm = EnterpriseRef(
        name=f"长春市{n:05d}号{rng.choice(('建筑劳务', '机械制造', '物流', '餐饮'))}有限公司",
        credit_code=None,
        industry=rng.choice(INDUSTRIES),
    )
    level = _level(rng)
    workers = {3: 60, 2: 25, 1: 12}.get(level[2] if level else 0, rng.randrange(1, 9))
    amount = Decimal(rng.randrange(5, 400) * 10000)
    report_ids = [_id("report", n, k) for k in range(rng.choice((1, 1, 2, 3)))]
    for k, report_id in enumerate(report_ids):
        report = ReportData(
            id=report_id, channel="rest", source=rng.choice(SOURCES), source_ref=None,
            jurisdiction="changchun", region=region, affected_regions=[region],
            occurred_at=opened, received_at=opened + dt.timedelta(minutes=20 * k),
            enterprise=firm, category=category, category_text=None, summary=None,
            demands=None, location=None, workers_involved=workers, amount_yuan=amount,
            terminations=0, collective_action="none", extreme_individual=False,
            potential_major_impact=False,
        )  # fmt: skip
        yield ReportReceived(report=report).to_event(subject=report_id, key=f"changchun:{n}")
    incident_id = _id("incident", n)
    body = BodyRef(body_id=level[3], name="") if level else None
    incident = IncidentData(
        id=incident_id, jurisdiction="changchun", policy="changchun-2020", kind="single",
        status="open", level=level[0] if level else None, level_label=level[1] if level else None,
        level_rank=level[2] if level else 0, provisional=True, reasons=[], routed_to=body,
        issued_at=opened if level else None, report_ids=report_ids, member_ids=[],
        cluster_id=None, corroboration=1, sources=[], enterprise=firm, category=category,
        categories=[category], region=region, regions=[region], opened_at=opened,
        updated_at=opened, workers_involved=workers, amount_yuan=amount, terminations=0,
        collective_action="none", extreme_individual=False, potential_major_impact=False,
        drill=False,
    )  # fmt: skip
    warning = WarningData(
        level=incident.level, level_label=incident.level_label, level_rank=incident.level_rank,
        previous_level=None, policy="changchun-2020", reasons=[], issued_at=opened, drill=False,
    )  # fmt: skip
    yield IncidentWarning(incident=incident, warning=warning).to_event(
        subject=incident_id, key=f"changchun:{n}"
    )
    if level is not None:
        yield from _follow_up(rng, incident, level, opened)


def _follow_up(
    rng: random.Random,
    incident: IncidentData,
    level: tuple[str, str, int, str, int],
    at: dt.datetime,
) -> Iterator[CloudEvent]:
    due = at + dt.timedelta(hours=level[4])
    late = rng.random() < 0.12
    acknowledged = due + dt.timedelta(hours=rng.uniform(0.2, 5)) if late else (
        at + (due - at) * rng.uniform(0.1, 0.9)
    )  # fmt: skip
    notification = NotificationData(
        id=_id("notification", incident.id), incident_id=incident.id, jurisdiction="changchun",
        body_id=level[3], kind="responsible", level=level[0], level_label=level[1],
        level_rank=level[2], issued_at=at, due_at=due, status="acknowledged",
        acknowledged_at=acknowledged, late=late, escalated_from=None, escalation_chain=[],
        drill=False,
    )  # fmt: skip
    yield NotificationEvent(
        kind="acknowledged", incident_id=incident.id, notification=notification
    ).to_event(subject=notification.id, key=f"changchun:{incident.id}")
    office = BodyRef(body_id="changchun.leading_group_office", name="领导小组办公室")
    plan = CasePlan(
        summary="约谈企业，督促支付", measures=["约谈"], handling_unit=office, lead="王五",
        phone="0431-00000000", submitted_at=at, submitted_by="office",
    )  # fmt: skip
    closed = at + dt.timedelta(hours=rng.uniform(12, 400))
    closure = CaseClosure(at=closed, by="office", resolution="resolved", outcome=None)
    done = closed < dt.datetime.now(dt.UTC) and rng.random() < 0.85
    case = CaseData(
        id=_id("case", incident.id), incident_id=incident.id, jurisdiction="changchun",
        level=level[0], level_label=level[1], level_rank=level[2], responsible_body=office,
        status="closed" if done else "responding", plan=plan, approval=None, progress=[],
        government_reports=[], form=None, closed=closure if done else None, opened_at=at,
        drill=False,
    )  # fmt: skip
    if done:
        ended = incident.model_copy(update={"status": "closed", "closed_at": closed})
        yield IncidentUpdated(incident=ended).to_event(
            subject=incident.id, key=f"changchun:{incident.id}"
        )
    yield CaseEvent(
        step="closed" if done else "plan_submitted", at=closed if done else at, by="office",
        summary_zh="", case=case,
    ).to_event(subject=case.id, key=f"changchun:{incident.id}")  # fmt: skip


def _alert(rng: random.Random, day: dt.date) -> CloudEvent:
    """A monitored enterprise's alert (定点监测): a threshold crossed, or a missing return."""
    kind, indicator = rng.choice(
        (("threshold", "wages_unpaid"), ("threshold", "social_insurance_arrears_months"),
         ("anomaly", "headcount"), ("threshold", "layoffs"), ("missing", "observation"))
    )  # fmt: skip
    code = f"91220100MA{rng.randrange(10**7):07d}X"
    alert = AlertData(
        id=_id("alert", day, code), jurisdiction="changchun", region=rng.choice(REGIONS),
        credit_code=code, enterprise=EnterpriseRef(name=None, credit_code=code, industry=None),
        period=day.strftime("%Y-%m"), kind=kind, indicator=indicator, value=None, reasons=[],
        reasons_zh=[], created_at=dt.datetime(day.year, day.month, day.day, 2, tzinfo=dt.UTC),
    )  # fmt: skip
    return MonitoringAlert(alert=alert, report=None).to_event(subject=alert.id, key=code)

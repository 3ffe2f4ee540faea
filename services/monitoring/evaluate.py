"""An upload evaluated, without I/O: each enterprise's series of months (what is stored, with
the upload's rows over it), the rows to store and the revisions they replace, and the alerts
each new month raises."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from libs.common.contracts import MonitoringAlert
from services.monitoring.domain import alert_report, shift
from services.monitoring.policy import MonitoringPolicy
from services.monitoring.rules import Figures, Finding, anomalies, fmt, thresholds
from services.monitoring.uploads import ObservationIn
from services.monitoring.views import alert_data


def figures_of(values: Any) -> Figures:
    """The figures of an observation (a stored row or a validated upload row)."""
    return Figures(
        values.headcount,
        values.wages_due_yuan,
        values.wages_paid_yuan,
        values.social_insurance_arrears_months,
        values.layoffs,
        values.disputes,
    )


@dataclass
class Evaluation:
    """What an upload writes and raises."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[MonitoringAlert] = field(default_factory=list)


# The columns of a stored observation an evaluation reads, in this order (the store selects
# them so): rows are read as plain tuples, tens of thousands at a time.
STORED = (
    "id",
    "credit_code",
    "period",
    "sender",
    "revision",
    *Figures._fields,
)
_FIGURES = slice(5, 5 + len(Figures._fields))


def series(stored: Sequence[Sequence[Any]]) -> dict[str, dict[str, Figures]]:
    """Each enterprise's months: the latest current observation of each (oldest first in,
    so a later one from another sender stands)."""
    months: dict[str, dict[str, Figures]] = {}
    for row in stored:
        months.setdefault(row[1], {})[row[2]] = Figures(*row[_FIGURES])
    return months


def evaluate(
    upload: Sequence[ObservationIn],
    *,
    stored: Sequence[Sequence[Any]],
    register: Mapping[str, Any],
    policies: Mapping[str, MonitoringPolicy],
    sender: str,
    raised: set[tuple[str, str, str, str]],
    now: dt.datetime,
    drill: bool,
) -> Evaluation:
    """Evaluate an upload against what is stored: rows to store (revisions numbered from
    the sender's earlier ones), and one alert per new (enterprise, month, indicator, kind)."""
    out = Evaluation()
    months = series(stored)
    mine = {(r[1], r[2]): r for r in stored if r[3] == sender}
    for obs in upload:
        months.setdefault(obs.credit_code, {})[obs.period] = figures_of(obs)
        earlier = mine.get((obs.credit_code, obs.period))
        if earlier is not None:
            out.replaced.append(earlier[0])
        out.rows.append(
            {
                "id": str(uuid.uuid4()),
                "credit_code": obs.credit_code,
                "period": obs.period,
                "headcount": obs.headcount,
                "wages_due_yuan": obs.wages_due_yuan,
                "wages_paid_yuan": obs.wages_paid_yuan,
                "social_insurance_arrears_months": obs.social_insurance_arrears_months,
                "layoffs": obs.layoffs,
                "disputes": obs.disputes,
                "sender": sender,
                "revision": 1 if earlier is None else earlier[4] + 1,
                "is_current": True,
                "received_at": now,
            }
        )
    for obs in upload:
        enterprise = register[obs.credit_code]
        policy = policies[enterprise.jurisdiction]
        for finding, figures in findings(months[obs.credit_code], obs.period, policy):
            key = (obs.credit_code, obs.period, finding.indicator, finding.kind)
            if key in raised:
                continue
            raised.add(key)
            row = alert_row(enterprise, obs.period, finding, now=now, drill=drill)
            out.alerts.append(row)
            report = alert_report(finding, figures, list(finding.reasons_zh))
            out.events.append(MonitoringAlert(alert=alert_data(row), report=report))
    return out


def findings(
    months: Mapping[str, Figures], period: str, policy: MonitoringPolicy
) -> list[tuple[Finding, Figures]]:
    """The alerts of one month against the months before it."""
    figures = months[period]
    previous = months.get(shift(period, -1))
    history = [months[p] for p in sorted((p for p in months if p < period), reverse=True)]
    found = thresholds(figures, previous, policy.thresholds)
    found += anomalies(figures, history, policy.anomaly)
    return [(f, figures) for f in found]


def alert_row(
    enterprise: Any,
    period: str,
    finding: Finding,
    *,
    now: dt.datetime,
    drill: bool,
) -> dict[str, Any]:
    """The stored row of a new alert."""
    return {
        "id": str(uuid.uuid4()),
        "credit_code": enterprise.credit_code,
        "jurisdiction": enterprise.jurisdiction,
        "region": enterprise.region,
        "enterprise_name": enterprise.name,
        "industry": enterprise.industry,
        "period": period,
        "kind": finding.kind,
        "indicator": finding.indicator,
        "value": None if finding.kind == "missing" else fmt(finding.value),
        "reasons": list(finding.reasons),
        "reasons_zh": list(finding.reasons_zh),
        "report_id": None,
        "created_at": now,
        "drill": drill,
    }

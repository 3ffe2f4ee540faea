"""The monitoring rules, without I/O: threshold alerts (触线警报) and anomalies (数据异动) on
one enterprise's monthly figures, each explained in English and in Chinese as grading's
reasons are (CONTRACT.md, "Monitored enterprises").

Numbers are Decimals throughout, so that a value on a bound is on it (以上 includes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from services.monitoring.policy import AnomalyRule, Thresholds

AlertKind = Literal["threshold", "anomaly", "missing"]

# The indicators an anomaly is looked for in, and which way is harmful (-1: down, +1: up).
HARMFUL: dict[str, int] = {
    "headcount": -1,
    "wages_paid": -1,
    "social_insurance_arrears_months": 1,
    "layoffs": 1,
    "disputes": 1,
}
ZH: dict[str, str] = {
    "headcount": "用工人数",
    "wages_paid": "实发工资",
    "wages_unpaid": "欠发工资",
    "social_insurance_arrears_months": "社保欠缴月数",
    "layoffs": "裁员人数",
    "disputes": "劳动争议件数",
}
_AT = {  # where each anomaly's figure is in `Figures`
    "headcount": 0,
    "wages_paid": 2,
    "social_insurance_arrears_months": 3,
    "layoffs": 4,
    "disputes": 5,
}
MAD_FACTOR = Decimal("0.6745")  # makes the MAD consistent with a normal law's sigma
MEAN_AD_FACTOR = Decimal("1.2533")  # sqrt(pi/2): the mean absolute deviation to a sigma


class Figures(NamedTuple):
    """One month's figures of one enterprise, as an observation gives them (a named tuple:
    an upload makes one for each month of each enterprise, tens of thousands)."""

    headcount: int
    wages_due_yuan: Decimal
    wages_paid_yuan: Decimal
    social_insurance_arrears_months: int
    layoffs: int
    disputes: int

    @property
    def wages_unpaid(self) -> Decimal:
        """Wages due and not paid (never below zero)."""
        return max(self.wages_due_yuan - self.wages_paid_yuan, Decimal(0))


@dataclass(frozen=True)
class Finding:
    """An alert before it is stored: what fired, on which figure, and why."""

    kind: AlertKind
    indicator: str
    value: Decimal
    reasons: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    # What the value is measured against: the previous month's (a threshold) or the
    # history's median (an anomaly); a headcount's drop is counted from it.
    baseline: Decimal | None = None


def fmt(value: Decimal) -> str:
    """A number as people write it: no exponent, no trailing zeros."""
    text = f"{value.quantize(Decimal('0.01')):f}" if value != value.to_integral() else f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def pct(share: Decimal) -> str:
    """A share as a percentage, to one decimal at most (0.2 → 20%)."""
    return fmt((share * 100).quantize(Decimal("0.1"))) + "%"


# --------------------------------------------------------------------------- thresholds


def thresholds(current: Figures, previous: Figures | None, rule: Thresholds) -> list[Finding]:
    """The threshold alerts of one month's figures; `previous` is the month before's (None
    if there is none), against which layoffs and the headcount are measured."""
    found = [
        f
        for f in (
            _unpaid(current, rule),
            _arrears(current, rule),
            _layoffs(current, previous, rule),
            _headcount_drop(current, previous, rule),
        )
        if f is not None
    ]
    return found


def _unpaid(now: Figures, rule: Thresholds) -> Finding | None:
    due, unpaid = now.wages_due_yuan, now.wages_unpaid
    if due <= 0 or unpaid < due * rule.unpaid_wages_share:
        return None
    share, bound = pct(unpaid / due), pct(rule.unpaid_wages_share)
    return Finding(
        "threshold",
        "wages_unpaid",
        unpaid,
        (f"wages_unpaid {fmt(unpaid)} = {share} of wages_due {fmt(due)} >= {bound}",),
        (f"欠发工资 {fmt(unpaid)}，占应发工资 {fmt(due)} 的 {share} ≥ {bound}",),
    )


def _arrears(now: Figures, rule: Thresholds) -> Finding | None:
    months, bound = now.social_insurance_arrears_months, rule.social_insurance_arrears_months
    if months < bound:
        return None
    return Finding(
        "threshold",
        "social_insurance_arrears_months",
        Decimal(months),
        (f"social_insurance_arrears_months {months} >= {bound}",),
        (f"社保欠缴月数 {months} ≥ {bound}",),
    )


def _layoffs(now: Figures, before: Figures | None, rule: Thresholds) -> Finding | None:
    n = now.layoffs
    en: list[str] = []
    zh: list[str] = []
    if n >= rule.layoffs:
        en.append(f"layoffs {n} >= {rule.layoffs}")
        zh.append(f"裁员人数 {n} ≥ {rule.layoffs}")
    if before is not None and before.headcount > 0 and n >= before.headcount * rule.layoffs_share:
        share, bound = pct(Decimal(n) / before.headcount), pct(rule.layoffs_share)
        en.append(f"layoffs {n} = {share} of the previous headcount {before.headcount} >= {bound}")
        zh.append(f"裁员人数 {n}，占上期用工人数 {before.headcount} 的 {share} ≥ {bound}")
    if not en or n == 0:
        return None
    return Finding("threshold", "layoffs", Decimal(n), tuple(en), tuple(zh))


def _headcount_drop(now: Figures, before: Figures | None, rule: Thresholds) -> Finding | None:
    if before is None or before.headcount <= 0:
        return None
    drop = before.headcount - now.headcount
    if drop <= 0 or drop < before.headcount * rule.headcount_drop_share:
        return None
    share, bound = pct(Decimal(drop) / before.headcount), pct(rule.headcount_drop_share)
    return Finding(
        "threshold",
        "headcount",
        Decimal(now.headcount),
        (f"headcount {now.headcount} is down {share} from {before.headcount} >= {bound}",),
        (f"用工人数 {now.headcount}，较上期 {before.headcount} 下降 {share} ≥ {bound}",),
        Decimal(before.headcount),
    )


# ---------------------------------------------------------------------------- anomalies


def median(values: Sequence[Decimal | int]) -> Decimal:
    """The median of a non-empty list."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return (Decimal(ordered[mid - 1]) + ordered[mid]) / 2


@dataclass(frozen=True)
class Departure:
    """How far a value departs from a history: the robust z-score (None for a flat history,
    where `change` says the relative change instead, None again from a zero median)."""

    median: Decimal
    z: Decimal | None
    scale: Literal["mad", "mean_ad", "flat"]
    change: Decimal | None = None


def departure(value: Decimal, history: Sequence[Decimal | int]) -> Departure:
    """The robust z-score 0.6745·(x − median)/MAD of a value against its history.

    Where the MAD (median absolute deviation) is 0, the mean absolute deviation from the
    median × 1.2533 stands in for it; where that is 0 too, the history is flat and only the
    relative change from it is given."""
    m = median(history)
    deviations = [abs(h - m) for h in history]
    mad = median(deviations)
    if mad > 0:
        return Departure(m, MAD_FACTOR * (value - m) / mad, "mad")
    mean_ad = sum(deviations, Decimal(0)) / len(deviations)
    if mean_ad > 0:
        return Departure(m, MAD_FACTOR * (value - m) / (mean_ad * MEAN_AD_FACTOR), "mean_ad")
    return Departure(m, None, "flat", None if m == 0 else (value - m) / abs(m))


def is_anomaly(value: Decimal, d: Departure, direction: int, rule: AnomalyRule) -> bool:
    """Say whether a departure is an anomaly in the harmful direction (+1 up, -1 down)."""
    if d.z is not None:
        return d.z * direction >= rule.z
    step = (value - d.median) * direction
    if step < 1:
        return False
    return d.change is None or abs(d.change) >= rule.flat_change_share


def anomalies(current: Figures, history: Sequence[Figures], rule: AnomalyRule) -> list[Finding]:
    """The anomalies of one month's figures against the enterprise's latest previous
    observations (`history`, latest first; at least `min_history` of them are needed, the
    latest `max_history` are used)."""
    if len(history) < rule.min_history:
        return []
    used = history[: rule.max_history]
    found: list[Finding] = []
    for indicator, direction in HARMFUL.items():
        at = _AT[indicator]
        value = Decimal(current[at])
        past = [h[at] for h in used]  # ints or Decimals: converted where needed
        # Not past the median the harmful way: no score can make it an anomaly (most are not).
        if (value - median(past)) * direction <= 0:
            continue
        d = departure(value, past)
        if is_anomaly(value, d, direction, rule):
            en, zh = explain(indicator, value, d, len(used), rule)
            found.append(Finding("anomaly", indicator, value, (en,), (zh,), d.median))
    return found


def explain(
    indicator: str, value: Decimal, d: Departure, n: int, rule: AnomalyRule
) -> tuple[str, str]:
    """The reason of an anomaly, in English and in Chinese."""
    name, x, m = ZH[indicator], fmt(value), fmt(d.median)
    if d.z is not None:
        z = fmt(d.z.quantize(Decimal("0.1")))
        bound = fmt(rule.z)
        how = "" if d.scale == "mad" else " (MAD 0: mean absolute deviation x 1.2533)"
        how_zh = "" if d.scale == "mad" else "（MAD 为 0，以平均绝对偏差 × 1.2533 代替）"
        return (
            f"{indicator} {x}, median of the latest {n} observations {m}, "
            f"robust z = {z}, |z| >= {bound}{how}",
            f"{name} {x}，近 {n} 个月中位数 {m}，稳健 z = {z.replace('-', '−')}{how_zh}",
        )
    change = "" if d.change is None else pct(d.change)
    bound = pct(rule.flat_change_share)
    return (
        f"{indicator} {x}, the latest {n} observations all {m}: change {change or 'from 0'} "
        f">= {bound} and >= 1",
        f"{name} {x}，近 {n} 个月均为 {m}，变化 {(change or '自 0 起').replace('-', '−')}"
        f" ≥ {bound} 且 ≥ 1",
    )

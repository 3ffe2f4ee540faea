"""Monitoring's rules on hand-computed figures: every threshold on both sides of its bound,
the robust z-score (MAD, its mean-absolute-deviation stand-in, a flat history), the harmful
direction, the history window, and a third county's own thresholds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from libs.common.jurisdictions import Registry
from services.monitoring import domain
from services.monitoring.policy import AnomalyRule, Thresholds, load_monitoring_policies
from services.monitoring.rules import Figures, anomalies, departure, thresholds

RULE = Thresholds()
ANOMALY = AnomalyRule()


def figures(**overrides: object) -> Figures:
    values: dict[str, object] = {
        "headcount": 100,
        "wages_due_yuan": Decimal(100_000),
        "wages_paid_yuan": Decimal(100_000),
        "social_insurance_arrears_months": 0,
        "layoffs": 0,
        "disputes": 0,
    }
    values.update(overrides)
    return Figures(**values)  # type: ignore[arg-type]


def fired(now: Figures, before: Figures | None = None, rule: Thresholds = RULE) -> set[str]:
    return {f.indicator for f in thresholds(now, before, rule)}


@pytest.mark.parametrize(
    ("paid", "fires"), [(80_000, True), (Decimal("80000.01"), False), (0, True), (100_000, False)]
)
def test_unpaid_wages_at_20_percent_of_wages_due(paid: int, fires: bool) -> None:
    assert ("wages_unpaid" in fired(figures(wages_paid_yuan=Decimal(paid)))) is fires


def test_social_insurance_arrears_from_3_months_with_the_reason_in_both_languages() -> None:
    assert fired(figures(social_insurance_arrears_months=2)) == set()
    (found,) = thresholds(figures(social_insurance_arrears_months=3), None, RULE)
    assert found.reasons_zh == ("社保欠缴月数 3 ≥ 3",)
    assert found.reasons == ("social_insurance_arrears_months 3 >= 3",)


@pytest.mark.parametrize(
    ("layoffs", "previous", "fires"),
    [(20, None, True), (19, None, False), (19, 1000, False), (10, 100, True), (9, 100, False)],
)
def test_layoffs_from_20_or_10_percent_of_the_previous_headcount(
    layoffs: int, previous: int | None, fires: bool
) -> None:
    before = None if previous is None else figures(headcount=previous)
    assert ("layoffs" in fired(figures(layoffs=layoffs), before)) is fires


def test_both_layoff_lines_make_one_alert_with_two_reasons() -> None:
    (found,) = thresholds(figures(layoffs=25), figures(headcount=100), RULE)
    assert len(found.reasons) == 2
    assert found.reasons_zh[1] == "裁员人数 25，占上期用工人数 100 的 25% ≥ 10%"


@pytest.mark.parametrize(("now", "fires"), [(70, True), (71, False), (100, False), (0, True)])
def test_headcount_down_30_percent_from_the_previous_period(now: int, fires: bool) -> None:
    assert ("headcount" in fired(figures(headcount=now), figures(headcount=100))) is fires


def test_no_previous_period_no_headcount_drop() -> None:
    assert fired(figures(headcount=1)) == set()


# ------------------------------------------------------------------------------ anomalies


def history_of(indicator: str, values: list[int]) -> list[Figures]:
    return [figures(**{indicator: v}) for v in values]


def anomaly_of(indicator: str, value: int, history: list[int]) -> set[str]:
    found = anomalies(figures(**{indicator: value}), history_of(indicator, history), ANOMALY)
    return {f.indicator for f in found if f.indicator == indicator}


SERIES = [100, 110, 90, 105, 95, 100]  # median 100, MAD 5


def test_robust_z_by_hand() -> None:
    d = departure(Decimal(70), [Decimal(v) for v in SERIES])
    assert d.median == 100
    assert d.scale == "mad"
    assert d.z == Decimal("0.6745") * -30 / 5  # −4.047


@pytest.mark.parametrize(("value", "fires"), [(70, True), (74, True), (75, False), (130, False)])
def test_headcount_anomaly_only_downwards_from_z_3_5(value: int, fires: bool) -> None:
    # 74: z = 0.6745 × −26 / 5 = −3.507; 75: −3.37; 130: +4.05 is not harmful for headcount.
    assert bool(anomaly_of("headcount", value, SERIES)) is fires


def test_disputes_anomaly_upwards() -> None:
    assert anomaly_of("disputes", 130, SERIES) == {"disputes"}
    assert anomaly_of("disputes", 70, SERIES) == set()


def test_mad_zero_falls_back_to_the_mean_absolute_deviation() -> None:
    history = [10, 10, 10, 10, 10, 16]  # MAD 0; mean absolute deviation from 10 = 1
    d = departure(Decimal(17), [Decimal(v) for v in history])
    assert d.scale == "mean_ad"
    assert d.z == Decimal("0.6745") * 7 / Decimal("1.2533")  # 3.767
    assert anomaly_of("disputes", 17, history) == {"disputes"}
    assert anomaly_of("disputes", 16, history) == set()  # 3.229


@pytest.mark.parametrize(
    ("indicator", "flat", "value", "fires"),
    [
        ("disputes", 5, 6, True),  # +1 = +20%
        ("disputes", 5, 5, False),
        ("disputes", 10, 11, False),  # +10%
        ("disputes", 10, 12, True),
        ("disputes", 0, 1, True),  # from nothing: at least 1
        ("headcount", 100, 80, True),  # −20%
        ("headcount", 100, 81, False),
        ("headcount", 100, 130, False),  # up is not harmful
        ("layoffs", 0, 0, False),
    ],
)
def test_a_flat_history_needs_20_percent_and_1(
    indicator: str, flat: int, value: int, fires: bool
) -> None:
    assert bool(anomaly_of(indicator, value, [flat] * 6)) is fires


def test_at_least_6_and_at_most_24_observations() -> None:
    assert anomaly_of("headcount", 80, [100] * 5) == set()
    assert anomaly_of("headcount", 80, [100] * 6) == {"headcount"}
    # The 25th observation back is not used: the latest 24 are flat, so −20% is an anomaly.
    assert anomaly_of("headcount", 80, [100] * 24 + [1000]) == {"headcount"}
    assert anomaly_of("headcount", 80, [100] * 23 + [1000]) == set()


def test_the_reason_names_the_figures_like_the_contract() -> None:
    history = [300, 310, 290, 300, 320, 280, 300, 305, 295, 300, 315, 285]
    (found,) = anomalies(figures(headcount=150), history_of("headcount", history), ANOMALY)
    d = departure(Decimal(150), [Decimal(v) for v in history])
    z = f"{d.z:.1f}".replace("-", "−") if d.z is not None else ""
    assert found.reasons_zh == (f"用工人数 150，近 12 个月中位数 300，稳健 z = {z}",)
    assert found.reasons[0].startswith("headcount 150, median of the latest 12 observations 300")


# --------------------------------------------------------------------- months and policy


def test_months_and_when_their_figures_are_due() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    assert domain.shift("2026-12", 1) == "2027-01"
    assert domain.shift("2026-01", -1) == "2025-12"
    registered = dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)  # 1 November in Shanghai
    assert domain.first_watched(registered, tz) == "2026-12"
    due = domain.missing_due("2026-11", tz=tz, day=5)
    assert due == dt.datetime(2026, 12, 6, tzinfo=tz)


def test_the_built_in_thresholds_are_the_contracts() -> None:
    policies = load_monitoring_policies(Registry.load())
    for jurisdiction in ("changchun", "xuanen"):
        assert policies[jurisdiction].thresholds == Thresholds()
        assert policies[jurisdiction].anomaly == AnomalyRule()
        assert policies[jurisdiction].missing_day == 5


def test_a_third_county_sets_its_own_thresholds(tmp_path: Path) -> None:
    (tmp_path / "third.yaml").write_text(
        "id: third\nname: 第三县\npolicy: {id: third-2026}\n"
        "regions: [{id: town, name: 镇}]\nbodies: [{id: third.office, name: 办公室}]\n"
        "monitoring:\n  thresholds: {social_insurance_arrears_months: 2, layoffs: 50}\n",
        encoding="utf-8",
    )
    rule = load_monitoring_policies(Registry.load(tmp_path))["third"].thresholds
    assert fired(figures(social_insurance_arrears_months=2), rule=rule) == {
        "social_insurance_arrears_months"
    }
    assert fired(figures(layoffs=20), rule=rule) == set()
    assert fired(figures(social_insurance_arrears_months=2)) == set()  # the built-in: 3

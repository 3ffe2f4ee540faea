"""Grading's rules over the built-in policies: levels, reasons, routes, merging, clusters.

The numbers are the seeds' (DESIGN.md, "Domain rules"): 以上 includes the bound itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import fields, replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.common.jurisdictions import Registry
from services.grading.domain import (
    Cluster,
    ClusterCandidate,
    Figures,
    Grade,
    code_key,
    find_cluster,
    grade,
    merge,
    name_key,
)
from services.grading.policy import Policy, load_policies
from services.grading.views import open_warnings
from services.grading.words import CollectiveAction
from tests.support import full_width

CHANGCHUN = "changchun"
XUANEN = "xuanen"

IN_SCOPE = (
    "labor_contract",
    "layoff",
    "wage_arrears",
    "labor_dispatch",
    "hr_outsourcing",
    "work_injury",
    "retirement",
    "public_opinion",
)
OUT_OF_SCOPE = ("social_insurance", "working_hours", "rest_leave", "collective_contract", "other")
ACTIONS = ("none", "possible", "occurred")

CHANGCHUN_REGIONS = (
    "nanguan",
    "kuancheng",
    "chaoyang",
    "erdao",
    "lvyuan",
    "shuangyang",
    "jiutai",
    "yushu",
    "dehui",
    "gongzhuling",
    "nongan",
)
XUANEN_REGIONS = (
    "zhushan",
    "jiaoyuan",
    "shadaogou",
    "lijiahe",
    "gaoluo",
    "wanzhai",
    "changtanhe",
    "xiaoguan",
    "chunmuying",
)
REGIONS = {CHANGCHUN: CHANGCHUN_REGIONS, XUANEN: XUANEN_REGIONS}

SETTINGS = settings(max_examples=200, deadline=None)


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    """The built-in policies, by jurisdiction id."""
    return load_policies(Registry.load())


@pytest.fixture(scope="module")
def changchun(policies: dict[str, Policy]) -> Policy:
    """Changchun's policy (changchun-2020)."""
    return policies[CHANGCHUN]


@pytest.fixture(scope="module")
def xuanen(policies: dict[str, Policy]) -> Policy:
    """Xuan'en's policy (xuanen-2021)."""
    return policies[XUANEN]


def figs(
    *,
    category: str = "labor_contract",
    region: str = "nanguan",
    regions: frozenset[str] | None = None,
    workers: int = 0,
    amount: str | Decimal = "0",
    terminations: int = 0,
    action: str = "none",
    extreme: bool = False,
    impact: bool = False,
    sources: frozenset[str] = frozenset({"hotline"}),
) -> Figures:
    """Build a figure set; the incident's regions default to its own region."""
    return Figures(
        category=category,
        region=region,
        regions=frozenset({region}) if regions is None else regions,
        workers_involved=workers,
        amount_yuan=Decimal(amount),
        terminations=terminations,
        collective_action=CollectiveAction(action),
        extreme_individual=extreme,
        potential_major_impact=impact,
        sources=sources,
    )


def level_id(g: Grade) -> str | None:
    """The id of a grade's level, or None."""
    return g.level.id if g.level is not None else None


def xfigs(*, regions: tuple[str, ...], workers: int = 0, action: str = "occurred") -> Figures:
    """A Xuan'en figure set whose incident lies in the first of its regions."""
    return figs(
        category="wage_arrears",
        region=regions[0],
        regions=frozenset(regions),
        workers=workers,
        action=action,
    )


# ------------------------------------------------------------------ changchun-2020: bounds


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        (0, None),
        (9, None),
        (10, "blue"),
        (19, "blue"),
        (20, "yellow"),
        (49, "yellow"),
        (50, "red"),
        (51, "red"),
        (10_000, "red"),
    ],
)
def test_changchun_workers_bounds(changchun: Policy, workers: int, expected: str | None) -> None:
    """涉及人数: 10以上 blue, 20以上 yellow, 50以上 red (the bound itself included)."""
    g = grade(changchun, figs(workers=workers))
    assert level_id(g) == expected
    if expected is not None:
        bound = {"blue": 10, "yellow": 20, "red": 50}[expected]
        assert g.reasons == (
            f"workers_involved {workers} >= {bound} (涉及人数 {workers} ≥ {bound} 人)",
        )


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", None),
        ("1999999.99", None),
        ("2000000", "yellow"),
        ("2000000.00", "yellow"),
        ("4999999.99", "yellow"),
        ("5000000", "red"),
        ("5000000.01", "red"),
    ],
)
def test_changchun_amount_bounds(changchun: Policy, amount: str, expected: str | None) -> None:
    """涉案金额: 200万元以上 yellow, 500万元以上 red; amount alone never gives blue."""
    g = grade(changchun, figs(amount=amount))
    assert level_id(g) == expected
    if expected is not None:
        bound = {"yellow": 2000000, "red": 5000000}[expected]
        shown = f"{Decimal(amount).normalize():f}"
        assert g.reasons == (f"amount_yuan {shown} >= {bound} (涉案金额 {shown} ≥ {bound} 元)",)


@pytest.mark.parametrize(
    ("terminations", "expected"),
    [(0, None), (9, None), (10, "yellow"), (19, "yellow"), (20, "red"), (21, "red")],
)
def test_changchun_terminations_bounds(
    changchun: Policy, terminations: int, expected: str | None
) -> None:
    """解除劳动关系: 10人以上 yellow, 20人以上 red; terminations alone never give blue."""
    g = grade(changchun, figs(terminations=terminations))
    assert level_id(g) == expected
    if expected is not None:
        bound = {"yellow": 10, "red": 20}[expected]
        assert g.reasons == (
            f"terminations {terminations} >= {bound} (解除劳动关系 {terminations} ≥ {bound} 人)",
        )


def test_changchun_below_every_bound_has_no_level(changchun: Policy) -> None:
    """Just under every bound at once: no level, no route, and a reason saying so."""
    g = grade(changchun, figs(workers=9, amount="1999999.99", terminations=9))
    assert g.level is None
    assert g.rank == 0
    assert g.route is None
    assert g.copies == ()
    assert len(g.reasons) == 1 and g.reasons[0]


@pytest.mark.parametrize(
    ("extreme", "impact", "text"),
    [
        (True, False, "extreme_individual (极端个体事件)"),
        (False, True, "potential_major_impact (评估可能造成重大影响)"),
    ],
)
def test_changchun_flags_give_blue(
    changchun: Policy, extreme: bool, impact: bool, text: str
) -> None:
    """An extreme individual act, or a judged potential major impact, is blue by itself."""
    g = grade(changchun, figs(extreme=extreme, impact=impact, amount="1999999.99", workers=9))
    assert level_id(g) == "blue"
    assert len(g.reasons) == 1
    assert text in g.reasons[0]


def test_changchun_flag_does_not_lower_a_higher_level(changchun: Policy) -> None:
    """A flag with 20 workers is still yellow: the most severe level wins."""
    g = grade(changchun, figs(workers=20, extreme=True, impact=True))
    assert level_id(g) == "yellow"
    assert g.reasons == ("workers_involved 20 >= 20 (涉及人数 20 ≥ 20 人)",)


@pytest.mark.parametrize(
    ("figures", "level", "route", "limit"),
    [
        (figs(workers=50), "red", "changchun.leading_group", dt.timedelta(hours=1)),
        (figs(amount="5000000"), "red", "changchun.leading_group", dt.timedelta(hours=1)),
        (figs(workers=20), "yellow", "changchun.leading_group_office", dt.timedelta(hours=6)),
        (figs(terminations=10), "yellow", "changchun.leading_group_office", dt.timedelta(hours=6)),
        (figs(workers=10), "blue", "changchun.leading_group_office", dt.timedelta(hours=24)),
        (figs(extreme=True), "blue", "changchun.leading_group_office", dt.timedelta(hours=24)),
    ],
)
def test_changchun_routes_and_limits(
    changchun: Policy,
    figures: Figures,
    level: str,
    route: str,
    limit: dt.timedelta,
) -> None:
    """Red to the leading group within 1 h; yellow (6 h) and blue (24 h) to its office."""
    g = grade(changchun, figures)
    assert g.level is not None
    assert g.level.id == level
    assert g.route == route
    assert g.copies == ()
    assert g.level.limit == limit
    assert changchun.level(level).limit == limit


def test_changchun_ranks_and_provisional(changchun: Policy) -> None:
    """Red 3, yellow 2, blue 1; every automatic level is provisional."""
    assert {lvl.id: lvl.rank for lvl in changchun.levels} == {"red": 3, "yellow": 2, "blue": 1}
    assert [lvl.id for lvl in changchun.by_severity] == ["red", "yellow", "blue"]
    assert changchun.provisional is True


def test_changchun_most_severe_wins(changchun: Policy) -> None:
    """12 workers (blue) and 6,000,000 yuan (red): red, explained by the amount only."""
    g = grade(changchun, figs(workers=12, amount="6000000"))
    assert level_id(g) == "red"
    assert g.rank == 3
    assert g.route == "changchun.leading_group"
    assert any("amount_yuan 6000000 >= 5000000" in r for r in g.reasons)
    assert any("涉案金额 6000000 ≥ 5000000" in r for r in g.reasons)
    assert not any("workers_involved" in r for r in g.reasons)
    assert len(g.reasons) == 1


def test_changchun_every_firing_condition_is_a_reason(changchun: Policy) -> None:
    """60 workers and 25 terminations: red for two reasons, both given."""
    g = grade(changchun, figs(workers=60, terminations=25))
    assert level_id(g) == "red"
    assert len(g.reasons) == 2
    assert any("workers_involved 60 >= 50" in r for r in g.reasons)
    assert any("terminations 25 >= 20" in r for r in g.reasons)


def test_changchun_all_three_red_conditions(changchun: Policy) -> None:
    """Every red condition holds: three reasons, in the policy's order."""
    g = grade(changchun, figs(workers=50, amount="5000000", terminations=20))
    assert level_id(g) == "red"
    assert [r.split(" ")[0] for r in g.reasons] == [
        "workers_involved",
        "amount_yuan",
        "terminations",
    ]


def test_reason_format_machine_and_chinese(changchun: Policy) -> None:
    """A reason gives the rule in machine form and in Chinese, with the figure."""
    (reason,) = grade(changchun, figs(workers=50)).reasons
    assert "workers_involved 50 >= 50" in reason
    assert "涉及人数 50 ≥ 50" in reason
    (reason,) = grade(changchun, figs(amount="2000000.50")).reasons
    assert "amount_yuan 2000000.5 >= 2000000" in reason
    assert "涉案金额 2000000.5 ≥ 2000000" in reason


@pytest.mark.parametrize("category", OUT_OF_SCOPE)
def test_changchun_out_of_scope_categories_get_no_level(changchun: Policy, category: str) -> None:
    """Categories outside 预警工作范围 are recorded with no automatic level, and say why."""
    g = grade(changchun, figs(category=category, workers=100, amount="9000000", extreme=True))
    assert g.level is None
    assert g.rank == 0
    assert g.route is None
    assert len(g.reasons) == 1
    assert category in g.reasons[0]
    assert "不在" in g.reasons[0] and "预警范围" in g.reasons[0]
    assert "changchun-2020" in g.reasons[0]


@pytest.mark.parametrize("category", IN_SCOPE)
def test_changchun_in_scope_categories_get_levels(changchun: Policy, category: str) -> None:
    """Every category in scope gets blue, yellow and red."""
    assert changchun.in_scope(category)
    assert level_id(grade(changchun, figs(category=category, workers=10))) == "blue"
    assert level_id(grade(changchun, figs(category=category, workers=20))) == "yellow"
    assert level_id(grade(changchun, figs(category=category, workers=100))) == "red"


# -------------------------------------------------------------------- xuanen-2021


def test_xuanen_gate_without_collective_action(xuanen: Policy) -> None:
    """No collective action (none): no warning at all, however large."""
    g = grade(xuanen, xfigs(regions=("zhushan", "gaoluo", "wanzhai"), workers=500, action="none"))
    assert g.level is None
    assert g.rank == 0
    assert g.route is None
    assert len(g.reasons) == 1 and "不予预警" in g.reasons[0]


@pytest.mark.parametrize("action", ["possible", "occurred"])
@pytest.mark.parametrize("region", XUANEN_REGIONS)
def test_xuanen_level1_goes_to_the_township(xuanen: Policy, action: str, region: str) -> None:
    """One township: level1 to that township's tripartite body, copied to its party committee
    and government and to the county's tripartite body."""
    g = grade(xuanen, xfigs(regions=(region,), workers=5, action=action))
    assert g.level is not None
    assert g.level.id == "level1"
    assert g.rank == 1
    assert g.route == f"xuanen.{region}.tripartite"
    assert g.copies == (f"xuanen.{region}.government", "xuanen.county.tripartite")
    assert g.level.limit == dt.timedelta(hours=6)
    # The gate that passed comes first, then the rule that fired.
    label = {"possible": "可能发生群体性事件或集体停工", "occurred": "已发生群体性事件或集体停工"}
    assert g.reasons == (
        f"collective_action {action} ({label[action]})",
        "regions_affected 1 >= 1 (涉及乡镇（区域） 1 ≥ 1 个)",
    )


def test_xuanen_level1_gaoluo(xuanen: Policy) -> None:
    """The seed's example: an incident in 高罗镇 goes to 高罗镇's tripartite body."""
    g = grade(xuanen, xfigs(regions=("gaoluo",), workers=30, action="possible"))
    assert level_id(g) == "level1"
    assert g.route == "xuanen.gaoluo.tripartite"
    assert g.copies == ("xuanen.gaoluo.government", "xuanen.county.tripartite")


def test_xuanen_level1_over_several_townships_copies_each_other_township(
    xuanen: Policy,
) -> None:
    """Level 1 reaching three townships: the report's township is responsible; each other
    affected township's tripartite body gets a copy (CONTRACT.md, "Xuan'en routing")."""
    figures = replace(
        xfigs(regions=("gaoluo", "wanzhai", "zhushan"), workers=30, action="possible"),
        region="wanzhai",
    )
    g = grade(xuanen, figures)
    assert level_id(g) == "level1"
    assert g.route == "xuanen.wanzhai.tripartite"
    assert g.copies == (
        "xuanen.gaoluo.tripartite",
        "xuanen.zhushan.tripartite",
        "xuanen.wanzhai.government",
        "xuanen.county.tripartite",
    )


@pytest.mark.parametrize(
    ("regions", "workers", "expected"),
    [
        (("zhushan", "gaoluo"), 49, "level1"),
        (("zhushan",), 50, "level1"),
        (("zhushan",), 500, "level1"),
        (("zhushan", "gaoluo"), 50, "level2"),
        (("zhushan", "gaoluo", "wanzhai"), 51, "level2"),
    ],
)
def test_xuanen_level2_needs_regions_and_workers(
    xuanen: Policy, regions: tuple[str, ...], workers: int, expected: str
) -> None:
    """Level2 needs both two or more townships and 50 or more workers."""
    g = grade(xuanen, xfigs(regions=regions, workers=workers))
    assert level_id(g) == expected


def test_xuanen_level2_route_limit_and_reason(xuanen: Policy) -> None:
    """Level2: county tripartite body within 2 h, copied to the county party committee and
    government and to the prefecture's body."""
    g = grade(xuanen, xfigs(regions=("zhushan", "gaoluo"), workers=50))
    assert g.level is not None
    assert g.level.id == "level2"
    assert g.rank == 2
    assert g.route == "xuanen.county.tripartite"
    assert g.copies == ("xuanen.county.government", "xuanen.prefecture.tripartite")
    assert g.level.limit == dt.timedelta(hours=2)
    gate, reason = g.reasons
    assert gate.startswith("collective_action ")  # the gate that passed
    assert "regions_affected 2 >= 2" in reason
    assert "workers_involved 50 >= 50" in reason
    assert "涉及人数 50 ≥ 50" in reason


# -------------------------------------------------------------- properties of grading

amounts = st.decimals(
    min_value=0, max_value=20_000_000, places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def figure_sets(draw: st.DrawFn, jurisdiction: str) -> Figures:
    """Any figure set for a jurisdiction, near its bounds and beyond."""
    names = REGIONS[jurisdiction]
    regions = draw(st.frozensets(st.sampled_from(names), min_size=1, max_size=len(names)))
    return Figures(
        category=draw(st.sampled_from(IN_SCOPE + OUT_OF_SCOPE)),
        region=draw(st.sampled_from(sorted(regions))),
        regions=regions,
        workers_involved=draw(st.integers(min_value=0, max_value=200)),
        amount_yuan=draw(amounts),
        terminations=draw(st.integers(min_value=0, max_value=60)),
        collective_action=CollectiveAction(draw(st.sampled_from(ACTIONS))),
        extreme_individual=draw(st.booleans()),
        potential_major_impact=draw(st.booleans()),
        sources=draw(st.frozensets(st.sampled_from(["hotline", "petition", "grid", "media"]))),
    )


@st.composite
def raised(draw: st.DrawFn, jurisdiction: str) -> tuple[Figures, Figures]:
    """A figure set and the same set with one figure raised (or a flag turned on)."""
    f = draw(figure_sets(jurisdiction))
    step = draw(st.integers(min_value=1, max_value=100))
    names = REGIONS[jurisdiction]
    bumps: list[Callable[[Figures], Figures]] = [
        lambda f: replace(f, workers_involved=f.workers_involved + step),
        lambda f: replace(f, amount_yuan=f.amount_yuan + Decimal(step) * 50_000),
        lambda f: replace(f, terminations=f.terminations + step),
        lambda f: replace(f, regions=f.regions | {draw(st.sampled_from(names))}),
        lambda f: replace(f, extreme_individual=True),
        lambda f: replace(f, potential_major_impact=True),
        lambda f: replace(
            f,
            collective_action=CollectiveAction(
                ACTIONS[min(ACTIONS.index(f.collective_action) + 1, 2)]
            ),
        ),
    ]
    bump = draw(st.sampled_from(bumps))
    return f, bump(f)


def reference_rank(jurisdiction: str, f: Figures) -> int:
    """The seeds' rules written out independently of the policy files."""
    if jurisdiction == CHANGCHUN:
        if f.category not in IN_SCOPE:
            return 0
        w, a, t = f.workers_involved, f.amount_yuan, f.terminations
        if w >= 50 or a >= 5_000_000 or t >= 20:
            return 3
        if w >= 20 or a >= 2_000_000 or t >= 10:
            return 2
        if w >= 10 or f.extreme_individual or f.potential_major_impact:
            return 1
        return 0
    if f.collective_action not in ("possible", "occurred"):
        return 0
    if len(f.regions) >= 2 and f.workers_involved >= 50:
        return 2
    return 1 if f.regions else 0


@pytest.mark.parametrize("jurisdiction", [CHANGCHUN, XUANEN])
@SETTINGS
@given(data=st.data())
def test_raising_a_figure_never_lowers_the_grade(
    policies: dict[str, Policy], jurisdiction: str, data: st.DataObject
) -> None:
    """Monotonicity: more workers, money, terminations, regions, a flag or action never lower."""
    before, after = data.draw(raised(jurisdiction))
    policy = policies[jurisdiction]
    assert grade(policy, after).rank >= grade(policy, before).rank


@pytest.mark.parametrize("jurisdiction", [CHANGCHUN, XUANEN])
@SETTINGS
@given(data=st.data())
def test_grade_is_deterministic_and_matches_the_seeds(
    policies: dict[str, Policy], jurisdiction: str, data: st.DataObject
) -> None:
    """The same figures give the same grade, the seeds' level; rank 0 iff there is no level.

    `reference_rank` is an oracle independent of the policy files.
    """
    f = data.draw(figure_sets(jurisdiction))
    policy = policies[jurisdiction]
    g = grade(policy, f)
    assert grade(policy, replace(f)) == g
    assert grade(policy, f) == g
    assert (g.rank == 0) == (g.level is None)
    assert (g.route is None) == (g.level is None)
    assert g.reasons
    if g.level is not None:
        assert g.rank == g.level.rank
    assert g.rank == reference_rank(jurisdiction, f)


# ------------------------------------------------------------------------------ merge


def test_merge_takes_the_largest_figures_not_the_sum() -> None:
    """Two channels reporting one dispute: 35 and 20 workers make 35, not 55."""
    a = figs(workers=35, amount="1000000", terminations=3, sources=frozenset({"hotline"}))
    b = figs(workers=20, amount="2500000", terminations=8, sources=frozenset({"petition"}))
    for m in (merge(a, b), merge(b, a)):
        assert m.workers_involved == 35
        assert m.amount_yuan == Decimal("2500000")
        assert m.terminations == 8
        assert m.sources == {"hotline", "petition"}
        assert m.corroboration == 2


def test_merge_unions_regions_and_sources_and_keeps_the_incident() -> None:
    """Regions and sources add up; category and home region stay the incident's."""
    a = figs(region="zhushan", regions=frozenset({"zhushan"}), sources=frozenset({"grid"}))
    b = figs(
        category="layoff",
        region="gaoluo",
        regions=frozenset({"gaoluo", "wanzhai"}),
        sources=frozenset({"grid", "media"}),
    )
    m = merge(a, b)
    assert m.regions == {"zhushan", "gaoluo", "wanzhai"}
    assert m.regions_affected == 3
    assert m.sources == {"grid", "media"}
    assert m.corroboration == 2
    assert m.category == a.category
    assert m.region == "zhushan"


@pytest.mark.parametrize(
    ("one", "other"),
    [(False, False), (True, False), (False, True), (True, True)],
)
def test_merge_flags_are_or(one: bool, other: bool) -> None:
    """A flag any report raises stays raised."""
    m = merge(figs(extreme=one, impact=other), figs(extreme=other, impact=one))
    assert m.extreme_individual is (one or other)
    assert m.potential_major_impact is (one or other)


@pytest.mark.parametrize("one", ACTIONS)
@pytest.mark.parametrize("other", ACTIONS)
def test_merge_collective_action_takes_the_most_serious(one: str, other: str) -> None:
    """none < possible < occurred."""
    expected = ACTIONS[max(ACTIONS.index(one), ACTIONS.index(other))]
    assert merge(figs(action=one), figs(action=other)).collective_action == expected


FIGURE_FIELDS = tuple(f.name for f in fields(Figures) if f.name not in ("category", "region"))


def figures_of(f: Figures) -> tuple[object, ...]:
    """Everything merged from reports (not the incident's own category and region)."""
    return tuple(getattr(f, name) for name in FIGURE_FIELDS)


@SETTINGS
@given(a=figure_sets(XUANEN), b=figure_sets(XUANEN), c=figure_sets(XUANEN))
def test_merge_is_commutative_associative_and_idempotent(
    a: Figures, b: Figures, c: Figures
) -> None:
    """Merging is order-free in its figures, and a repeated report changes nothing."""
    assert figures_of(merge(a, b)) == figures_of(merge(b, a))
    assert merge(merge(a, b), c) == merge(a, merge(b, c))
    assert merge(a, a) == a
    assert merge(merge(a, b), b) == merge(a, b)
    m = merge(a, b)
    assert m.category == a.category and m.region == a.region
    assert m.workers_involved == max(a.workers_involved, b.workers_involved)
    assert m.amount_yuan == max(a.amount_yuan, b.amount_yuan)
    assert m.terminations == max(a.terminations, b.terminations)


@pytest.mark.parametrize("jurisdiction", [CHANGCHUN, XUANEN])
@SETTINGS
@given(data=st.data())
def test_a_new_report_never_lowers_the_grade(
    policies: dict[str, Policy], jurisdiction: str, data: st.DataObject
) -> None:
    """Levels rise as reports arrive: merging a report never lowers the incident's rank."""
    a = data.draw(figure_sets(jurisdiction))
    b = data.draw(figure_sets(jurisdiction))
    policy = policies[jurisdiction]
    assert grade(policy, merge(a, b)).rank >= grade(policy, a).rank
    b_as_a = replace(b, category=a.category, region=a.region)
    assert grade(policy, merge(a, b)).rank >= grade(policy, b_as_a).rank


# -------------------------------------------------------------------- correlation keys


def correlation_key(
    *, jurisdiction: str, credit_code: str | None, name: str | None, category: str
) -> str | None:
    """The key a report is first looked up by: its code's, else its name's."""
    return code_key(jurisdiction, category, credit_code) or name_key(jurisdiction, category, name)


CODE = "91350100M000100Y43"


def test_same_credit_code_same_key_whatever_the_name() -> None:
    """The credit code decides, in any case; the name does not matter then."""
    keys = {
        correlation_key(jurisdiction=CHANGCHUN, credit_code=code, name=name, category="layoff")
        for code, name in [
            (CODE, "长春某建筑劳务有限公司"),
            (CODE.lower(), "完全不同的名字"),
            ("91350100m000100Y43", None),
            (CODE, ""),
        ]
    }
    assert len(keys) == 1
    (key,) = keys
    assert key is not None


def test_different_credit_codes_differ_even_with_one_name() -> None:
    """Two enterprises with one name but different codes are different incidents."""
    name = "长春某建筑劳务有限公司"
    one = correlation_key(jurisdiction=CHANGCHUN, credit_code=CODE, name=name, category="layoff")
    other = correlation_key(
        jurisdiction=CHANGCHUN, credit_code="91110000802100433B", name=name, category="layoff"
    )
    assert one is not None and other is not None
    assert one != other


NAME_VARIANTS = [
    "长春某建筑劳务有限公司",
    "长春某建筑劳务有限责任公司 ",
    " 长春某建筑劳务有限公司",
    "\u3000长春某建筑劳务有限责任公司\u3000",
    "长春某建筑劳务 有限公司",
    "长春某建筑劳务公司",
    "长春某建筑劳务（有限公司）",
    full_width("长春某建筑劳务有限公司 "),
]


@pytest.mark.parametrize("credit_code", [None, ""])
def test_no_credit_code_uses_the_normalised_name(credit_code: str | None) -> None:
    """Without a code, legal-form suffixes, spaces and full-width forms do not matter."""
    keys = {
        correlation_key(jurisdiction=CHANGCHUN, credit_code=credit_code, name=n, category="layoff")
        for n in NAME_VARIANTS
    }
    assert len(keys) == 1
    assert None not in keys


def test_full_width_latin_names_match() -> None:
    """Full-width Latin letters and digits fold to half-width, any case."""
    keys = {
        correlation_key(jurisdiction=XUANEN, credit_code=None, name=n, category="wage_arrears")
        for n in ["宣恩ABC123建材有限公司", full_width("宣恩ABC123建材有限公司"), "宣恩abc123建材"]
    }
    assert len(keys) == 1


def test_different_names_differ() -> None:
    """Different enterprises by name are different incidents."""
    one = correlation_key(jurisdiction=CHANGCHUN, credit_code=None, name="长春甲公司", category="x")
    other = correlation_key(
        jurisdiction=CHANGCHUN, credit_code=None, name="长春乙公司", category="x"
    )
    assert one is not None and other is not None and one != other


@pytest.mark.parametrize(
    ("credit_code", "name"), [(CODE, "长春某建筑劳务有限公司"), (None, "长春某建筑劳务有限公司")]
)
def test_category_and_jurisdiction_separate_incidents(credit_code: str | None, name: str) -> None:
    """The same enterprise in another category or jurisdiction is another incident."""
    base = correlation_key(
        jurisdiction=CHANGCHUN, credit_code=credit_code, name=name, category="wage_arrears"
    )
    other_category = correlation_key(
        jurisdiction=CHANGCHUN, credit_code=credit_code, name=name, category="layoff"
    )
    other_place = correlation_key(
        jurisdiction=XUANEN, credit_code=credit_code, name=name, category="wage_arrears"
    )
    assert base is not None and other_category is not None and other_place is not None
    assert len({base, other_category, other_place}) == 3


@pytest.mark.parametrize("name", [None, "", "   ", "\u3000", "（）", "·"])
@pytest.mark.parametrize("credit_code", [None, ""])
def test_unknown_enterprise_has_no_key(name: str | None, credit_code: str | None) -> None:
    """No code and no usable name: the report joins no incident."""
    assert (
        correlation_key(jurisdiction=CHANGCHUN, credit_code=credit_code, name=name, category="x")
        is None
    )


# ------------------------------------------------------------------------ find_cluster

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(days=30)


def cand(
    incident_id: str,
    regions: tuple[str, ...],
    workers: int,
    *,
    action: str = "occurred",
    age: dt.timedelta = dt.timedelta(days=1),
) -> ClusterCandidate:
    """An open incident whose last report came `age` before NOW."""
    return ClusterCandidate(
        incident_id=incident_id,
        regions=frozenset(regions),
        workers_involved=workers,
        collective_action=CollectiveAction(action),
        last_report_at=NOW - age,
    )


def cluster(policy: Policy, *candidates: ClusterCandidate) -> Cluster | None:
    """Look for a cluster among the candidates, at NOW over 30 days."""
    return find_cluster(policy, list(candidates), now=NOW, window=WINDOW)


def test_xuanen_cluster_window_is_the_policys(xuanen: Policy) -> None:
    """The built-in cluster rule: 30 days, 2 incidents, 2 townships, 50 workers, level2."""
    assert xuanen.cluster is not None
    assert xuanen.cluster.within == WINDOW
    assert (xuanen.cluster.min_incidents, xuanen.cluster.min_regions) == (2, 2)
    assert xuanen.cluster.min_workers == 50
    assert xuanen.cluster.level == "level2"


def test_cluster_of_two_townships(xuanen: Policy) -> None:
    """30 workers in 珠山 and 20 in 高罗 within 30 days: one county cluster."""
    found = cluster(
        xuanen,
        cand("b", ("gaoluo",), 20, action="possible"),
        cand("a", ("zhushan",), 30),
    )
    assert found is not None
    assert sorted(found.member_ids) == ["a", "b"]
    assert found.regions == {"zhushan", "gaoluo"}
    assert found.workers_involved == 50
    assert len(found.reasons) == 3
    assert any("2 incidents >= 2" in r for r in found.reasons)
    assert any("regions_affected 2 >= 2" in r for r in found.reasons)
    assert any("workers_involved 50 >= 50" in r for r in found.reasons)


def test_cluster_needs_fifty_workers(xuanen: Policy) -> None:
    """30 + 19 workers: no cluster."""
    assert cluster(xuanen, cand("a", ("zhushan",), 30), cand("b", ("gaoluo",), 19)) is None


def test_cluster_needs_two_townships(xuanen: Policy) -> None:
    """Two incidents in one township: no county cluster, however many workers."""
    assert cluster(xuanen, cand("a", ("zhushan",), 30), cand("b", ("zhushan",), 40)) is None


def test_cluster_needs_two_incidents(xuanen: Policy) -> None:
    """One incident alone is not a cluster (it is graded by itself)."""
    assert cluster(xuanen, cand("a", ("zhushan", "gaoluo"), 80)) is None
    assert cluster(xuanen) is None


def test_cluster_excludes_incidents_outside_the_window(xuanen: Policy) -> None:
    """An incident last reported more than 30 days ago is not a member."""
    old = cand("c", ("wanzhai",), 100, age=WINDOW + dt.timedelta(seconds=1))
    found = cluster(xuanen, cand("a", ("zhushan",), 30), cand("b", ("gaoluo",), 20), old)
    assert found is not None
    assert sorted(found.member_ids) == ["a", "b"]
    assert found.regions == {"zhushan", "gaoluo"}
    assert found.workers_involved == 50
    assert cluster(xuanen, cand("a", ("zhushan",), 30), old) is None


def test_cluster_window_boundary_is_included(xuanen: Policy) -> None:
    """Last reported exactly 30 days ago: still within the window."""
    found = cluster(xuanen, cand("a", ("zhushan",), 30), cand("b", ("gaoluo",), 20, age=WINDOW))
    assert found is not None
    assert sorted(found.member_ids) == ["a", "b"]


def test_cluster_excludes_incidents_without_collective_action(xuanen: Policy) -> None:
    """An incident with no collective action is no member, whatever its size."""
    calm = cand("c", ("wanzhai",), 100, action="none")
    found = cluster(xuanen, cand("a", ("zhushan",), 30), cand("b", ("gaoluo",), 20), calm)
    assert found is not None
    assert sorted(found.member_ids) == ["a", "b"]
    assert found.workers_involved == 50
    assert cluster(xuanen, cand("a", ("zhushan",), 30), calm) is None


def test_no_cluster_rule_no_cluster(changchun: Policy) -> None:
    """Changchun has no cluster rule."""
    assert changchun.cluster is None
    assert cluster(changchun, cand("a", ("nanguan",), 300), cand("b", ("erdao",), 300)) is None


candidates = st.lists(
    st.builds(
        cand,
        st.uuids().map(str),
        st.lists(st.sampled_from(XUANEN_REGIONS), min_size=1, max_size=3).map(tuple),
        st.integers(min_value=0, max_value=60),
        action=st.sampled_from(ACTIONS),
        age=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=60)),
    ),
    max_size=6,
    unique_by=lambda c: c.incident_id,
)


@SETTINGS
@given(found_among=candidates)
def test_cluster_matches_its_definition(
    xuanen: Policy, found_among: list[ClusterCandidate]
) -> None:
    """A cluster exists exactly when the eligible incidents meet every bound."""
    eligible = [
        c for c in found_among if c.collective_action != "none" and NOW - c.last_report_at <= WINDOW
    ]
    regions = frozenset().union(*(c.regions for c in eligible))
    workers = sum(c.workers_involved for c in eligible)
    expected = len(eligible) >= 2 and len(regions) >= 2 and workers >= 50
    found = cluster(xuanen, *found_among)
    assert (found is not None) == expected
    if found is not None:
        assert sorted(found.member_ids) == sorted(c.incident_id for c in eligible)
        assert found.regions == regions
        assert found.workers_involved == workers
        assert found == cluster(xuanen, *reversed(found_among))


def test_open_warnings_count_per_level_and_keep_each_regions_most_severe(
    policies: dict[str, Policy],
) -> None:
    policy = policies["changchun"]
    rows = [("blue", 1, ["nanguan", "chaoyang"]), ("red", 3, ["chaoyang"]), ("blue", 1, [])]
    by_level, by_region = open_warnings(rows, policy)
    assert by_level == {"red": 1, "yellow": 0, "blue": 2}
    assert {r: v["level"] for r, v in by_region.items()} == {"nanguan": "blue", "chaoyang": "red"}
    assert by_region["chaoyang"]["level_label"] == "一级红色预警"

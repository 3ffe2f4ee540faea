"""Warning policies as data: validation, bounds, a third county as a new file, errors."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.jurisdictions import BUILT_IN_DIR, Registry
from services.grading.domain import Figures, grade
from services.grading.policy import (
    ClusterRule,
    Policy,
    PolicyError,
    Threshold,
    check_against,
    load_policies,
)
from services.grading.words import CollectiveAction


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The built-in jurisdictions."""
    return Registry.load()


@pytest.fixture(scope="module")
def policies(registry: Registry) -> dict[str, Policy]:
    """The built-in policies, by jurisdiction id."""
    return load_policies(registry)


def figs(
    *,
    category: str = "wage_arrears",
    region: str = "xiangfeng",
    regions: tuple[str, ...] = (),
    workers: int = 0,
    amount: str = "0",
    terminations: int = 0,
    action: str = "none",
    extreme: bool = False,
) -> Figures:
    """A figure set; the incident's regions default to its own region."""
    return Figures(
        category=category,
        region=region,
        regions=frozenset(regions or (region,)),
        workers_involved=workers,
        amount_yuan=Decimal(amount),
        terminations=terminations,
        collective_action=CollectiveAction(action),
        extreme_individual=extreme,
        potential_major_impact=False,
        sources=frozenset({"hotline"}),
    )


# ---------------------------------------------------------------------- built-in policies


def test_built_in_policies_load(policies: dict[str, Policy]) -> None:
    """Both seeds' policies load, each under its jurisdiction."""
    assert sorted(policies) == ["changchun", "xuanen"]
    assert policies["changchun"].id == "changchun-2020"
    assert policies["xuanen"].id == "xuanen-2021"
    assert [lvl.id for lvl in policies["changchun"].by_severity] == ["red", "yellow", "blue"]
    assert [lvl.id for lvl in policies["xuanen"].by_severity] == ["level2", "level1"]


@pytest.mark.parametrize("jurisdiction_id", ["changchun", "xuanen"])
def test_built_in_policies_match_their_jurisdictions(
    registry: Registry, policies: dict[str, Policy], jurisdiction_id: str
) -> None:
    """Every route, copy and assessor of a built-in policy is a body of its jurisdiction."""
    jurisdiction = registry.get(jurisdiction_id)
    assert jurisdiction is not None
    assert check_against(policies[jurisdiction_id], jurisdiction) == []
    assert jurisdiction.policy.id == policies[jurisdiction_id].id


def test_built_in_policy_details(policies: dict[str, Policy]) -> None:
    """The parts of the built-in files the rules rely on."""
    changchun, xuanen = policies["changchun"], policies["xuanen"]
    assert changchun.requires is None
    assert changchun.cluster is None
    assert changchun.assessors == ("changchun.leading_group",)
    assert not changchun.in_scope("social_insurance")
    assert xuanen.requires is not None
    assert xuanen.requires.collective_action == ("possible", "occurred")
    assert xuanen.categories == "all"
    assert xuanen.in_scope("anything_at_all")
    assert xuanen.provisional is False
    assert xuanen.level("level1").route == "xuanen.{region}.tripartite"
    with pytest.raises(KeyError):
        xuanen.level("red")


def test_check_against_reports_unknown_bodies(
    registry: Registry, policies: dict[str, Policy]
) -> None:
    """A route, copy or assessor naming no body of the jurisdiction is reported."""
    changchun = registry.get("changchun")
    assert changchun is not None
    data = policies["changchun"].model_dump(mode="json")
    data["levels"][0]["route"] = "changchun.nobody"
    data["levels"][1]["copies"] = ["changchun.leading_group", "changchun.ghost"]
    data["assessors"] = ["changchun.phantom"]
    problems = check_against(Policy.model_validate(data), changchun)
    assert problems == [
        "levels.red: unknown body changchun.nobody",
        "levels.yellow: unknown body changchun.ghost",
        "assessors: unknown body changchun.phantom",
    ]


def test_check_against_another_jurisdictions_policy(
    registry: Registry, policies: dict[str, Policy]
) -> None:
    """Xuan'en's policy against Changchun's bodies: every route is unknown there."""
    changchun = registry.get("changchun")
    assert changchun is not None
    problems = check_against(policies["xuanen"], changchun)
    # {region} expands over Changchun's 11 districts; copies and assessors are unknown too.
    assert "levels.level1: unknown body xuanen.county.tripartite" in problems
    assert "levels.level1: unknown body xuanen.nanguan.tripartite" in problems
    assert "levels.level1: unknown body xuanen.gaoluo.tripartite" not in problems
    assert "levels.level2: unknown body xuanen.county.tripartite" in problems
    assert "assessors: unknown body xuanen.bureau.leading_group" in problems


# ----------------------------------------------------------------------- thresholds


LEVEL: dict[str, Any] = {
    "id": "high",
    "label": "高",
    "rank": 1,
    "route": "t.office",
    "limit": "PT1H",
}


def policy_with(*conditions: dict[str, Any], **extra: Any) -> Policy:
    """A one-level policy firing on any of the conditions."""
    return Policy.model_validate({"id": "t-1", "levels": [{**LEVEL, "when": conditions}], **extra})


@pytest.mark.parametrize(
    "condition",
    [
        {"figure": "workers_involved"},
        {"figure": "workers_involved", "at_least": 10, "more_than": 10},
        {"figure": "amount_yuan", "at_least": 0, "more_than": 5},
    ],
)
def test_threshold_needs_exactly_one_bound(condition: dict[str, Any]) -> None:
    """Neither bound, or both: invalid, alone and inside a policy."""
    with pytest.raises(ValidationError, match="exactly one of at_least"):
        Threshold.model_validate(condition)
    with pytest.raises(ValidationError):
        policy_with(condition)


@pytest.mark.parametrize(
    "condition",
    [
        {"figure": "workers_involved", "at_least": -1},
        {"figure": "workers_involved", "more_than": -0.5},
        {"figure": "salary", "at_least": 1},
        {"figure": "workers_involved", "at_least": 1, "below": 5},
        {"flag": "angry"},
        {"all": []},
    ],
)
def test_bad_conditions_are_rejected(condition: dict[str, Any]) -> None:
    """Negative bounds, unknown figures, flags and keys, and an empty `all` are invalid."""
    with pytest.raises(ValidationError):
        policy_with(condition)


def test_a_threshold_with_one_bound_is_valid() -> None:
    """at_least alone and more_than alone are both fine."""
    assert Threshold.model_validate({"figure": "terminations", "at_least": 0}).at_least == 0
    more = Threshold.model_validate({"figure": "amount_yuan", "more_than": "2000000.5"})
    assert more.more_than == Decimal("2000000.5")
    assert more.at_least is None


@pytest.mark.parametrize(
    ("workers", "fires"), [(0, False), (49, False), (50, False), (51, True), (500, True)]
)
def test_more_than_is_exclusive(workers: int, fires: bool) -> None:
    """超过 50: 50 does not fire, 51 does."""
    policy = policy_with({"figure": "workers_involved", "more_than": 50})
    g = grade(policy, figs(workers=workers))
    assert (g.level is not None) is fires
    if fires:
        assert g.reasons == (f"workers_involved {workers} > 50 (涉及人数 {workers} > 50 人)",)
        assert g.route == "t.office"


@pytest.mark.parametrize(
    ("amount", "fires"),
    [("1999999.99", False), ("2000000", False), ("2000000.00", False), ("2000000.01", True)],
)
def test_more_than_is_exclusive_for_money(amount: str, fires: bool) -> None:
    """超过 200万元: exactly 2,000,000 does not fire, a cent more does."""
    policy = policy_with({"figure": "amount_yuan", "more_than": 2000000})
    g = grade(policy, figs(amount=amount))
    assert (g.level is not None) is fires
    if fires:
        assert g.reasons == ("amount_yuan 2000000.01 > 2000000 (涉案金额 2000000.01 > 2000000 元)",)


@pytest.mark.parametrize(("workers", "fires"), [(49, False), (50, True), (51, True)])
def test_at_least_is_inclusive(workers: int, fires: bool) -> None:
    """50以上: 50 itself fires."""
    policy = policy_with({"figure": "workers_involved", "at_least": 50})
    assert (grade(policy, figs(workers=workers)).level is not None) is fires


def test_all_of_needs_every_part() -> None:
    """`all` fires only when each part holds, and explains with every part."""
    policy = policy_with(
        {
            "all": [
                {"figure": "terminations", "more_than": 3},
                {"flag": "extreme_individual"},
            ]
        }
    )
    assert grade(policy, figs(terminations=4)).level is None
    assert grade(policy, figs(terminations=3, extreme=True)).level is None
    (reason,) = grade(policy, figs(terminations=4, extreme=True)).reasons
    assert reason == (
        "terminations 4 > 3 (解除劳动关系 4 > 3 人) and extreme_individual (极端个体事件)"
    )


# ------------------------------------------------------------------ policy consistency


def two_levels(**second: Any) -> dict[str, Any]:
    """A policy with two levels; the second's fields overridden."""
    return {
        "id": "t-2",
        "levels": [
            {**LEVEL, "when": [{"flag": "extreme_individual"}]},
            {**LEVEL, "id": "higher", "rank": 2, "when": [{"flag": "extreme_individual"}]} | second,
        ],
    }


def test_two_distinct_levels_are_fine() -> None:
    """Distinct ids and ranks validate."""
    assert [lvl.id for lvl in Policy.model_validate(two_levels()).by_severity] == [
        "higher",
        "high",
    ]


def test_level_ids_must_be_unique() -> None:
    """Two levels with one id: invalid."""
    with pytest.raises(ValidationError, match="level ids must be unique"):
        Policy.model_validate(two_levels(id="high"))


def test_level_ranks_must_be_unique() -> None:
    """Two levels with one rank: invalid (the most severe would be ambiguous)."""
    with pytest.raises(ValidationError, match="level ranks must be unique"):
        Policy.model_validate(two_levels(rank=1))


CLUSTER = {"within": "P30D", "min_incidents": 2, "min_regions": 2, "min_workers": 50}


def test_cluster_level_must_name_a_level() -> None:
    """cluster.level names one of the policy's levels."""
    ok = Policy.model_validate({**two_levels(), "cluster": {**CLUSTER, "level": "higher"}})
    assert ok.cluster == ClusterRule(
        within=dt.timedelta(days=30), min_incidents=2, min_regions=2, min_workers=50, level="higher"
    )
    with pytest.raises(ValidationError, match=r"cluster\.level 'level9' is not a level"):
        Policy.model_validate({**two_levels(), "cluster": {**CLUSTER, "level": "level9"}})


@pytest.mark.parametrize(
    "bad",
    [{"min_incidents": 1}, {"min_regions": 1}, {"min_workers": -1}, {"within": "a month"}],
)
def test_cluster_bounds(bad: dict[str, Any]) -> None:
    """A cluster is at least two incidents in two regions, over a real duration."""
    with pytest.raises(ValidationError):
        Policy.model_validate({**two_levels(), "cluster": {**CLUSTER, "level": "high", **bad}})


@pytest.mark.parametrize(
    "bad",
    [
        {"levels": []},
        {"id": "Bad Id"},
        {"categories": "some"},
        {"requires": {"collective_action": []}},
        {"requires": {"collective_action": ["maybe"]}},
        {"surprise": True},
    ],
)
def test_bad_policies_are_rejected(bad: dict[str, Any]) -> None:
    """No levels, a bad id, an unknown scope, gate or key: invalid."""
    with pytest.raises(ValidationError):
        Policy.model_validate({**two_levels(), **bad})


@pytest.mark.parametrize(
    "bad",
    [{"id": "Red"}, {"rank": 0}, {"when": []}, {"limit": "soon"}, {"colour": "red"}],
)
def test_bad_levels_are_rejected(bad: dict[str, Any]) -> None:
    """A bad level id, rank, empty conditions, bad limit or unknown key: invalid."""
    with pytest.raises(ValidationError):
        Policy.model_validate(two_levels(**bad))


def test_policies_are_frozen() -> None:
    """A loaded policy cannot be changed in place."""
    policy = Policy.model_validate(two_levels())
    with pytest.raises(ValidationError):
        policy.id = "other"  # type: ignore[misc]


# ------------------------------------------------------------------ a third jurisdiction

LAIFENG = """\
# 来凤县 — a made-up third county: a new file, no new code.
id: laifeng
name: 来凤县
timezone: Asia/Shanghai
policy:
  id: laifeng-2024
  categories: [wage_arrears, labor_contract]
  levels:
    - id: orange
      label: 二级橙色预警
      rank: 2
      when:   # 超过100人，或100万元以上且涉及两个乡镇以上
        - {figure: workers_involved, more_than: 100}
        - all:
            - {figure: amount_yuan, at_least: 1000000}
            - {figure: regions_affected, at_least: 2}
      route: laifeng.county.office
      copies: [laifeng.prefecture.office]
      limit: PT3H
    - id: green
      label: 三级绿色预警
      rank: 1
      when:
        - {figure: workers_involved, at_least: 5}
        - {flag: extreme_individual}
      route: laifeng.{region}.station
      copies: [laifeng.county.office]
      limit: P1D
  assessors: [laifeng.county.office]
regions:
  - {id: xiangfeng, name: 翔凤镇}
  - {id: baifusi, name: 百福司镇}
bodies:
  - {id: laifeng.prefecture.office, name: 州劳动关系办公室, external: true}
  - {id: laifeng.county.office, name: 县劳动关系办公室, parent: laifeng.prefecture.office}
  - {id: laifeng.xiangfeng.station, name: 翔凤镇劳动保障所, region: xiangfeng, parent: laifeng.county.office}
  - {id: laifeng.baifusi.station, name: 百福司镇劳动保障所, region: baifusi, parent: laifeng.county.office}
"""  # noqa: E501


def write_county(directory: Path, text: str = LAIFENG, *, with_built_ins: bool = True) -> Path:
    """Write the county's file (and copies of the built-in files); return its path."""
    if with_built_ins:
        for name in ("changchun.yaml", "xuanen.yaml"):
            shutil.copy(BUILT_IN_DIR / name, directory / name)
    path = directory / "laifeng.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line holding the fragment."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(hits) == 1, hits
    return hits[0]


def test_a_third_county_is_a_new_file(tmp_path: Path) -> None:
    """A new YAML file adds a jurisdiction and its policy; grading needs no new code."""
    write_county(tmp_path)
    registry = Registry.load(tmp_path)
    assert registry.ids() == ["changchun", "laifeng", "xuanen"]
    loaded = load_policies(registry, tmp_path)
    assert sorted(loaded) == ["changchun", "laifeng", "xuanen"]
    policy = loaded["laifeng"]
    assert policy.id == "laifeng-2024"
    laifeng = registry.get("laifeng")
    assert laifeng is not None
    assert check_against(policy, laifeng) == []
    assert loaded["changchun"] == load_policies(Registry.load())["changchun"]

    g = grade(policy, figs(region="baifusi", workers=5))
    assert g.level is not None
    assert (g.level.id, g.rank) == ("green", 1)
    assert g.route == "laifeng.baifusi.station"
    assert g.copies == ("laifeng.county.office",)
    assert g.level.limit == dt.timedelta(days=1)

    assert grade(policy, figs(workers=4)).level is None
    assert grade(policy, figs(workers=100)).rank == 1
    g = grade(policy, figs(workers=101))
    assert g.level is not None
    assert (g.level.id, g.route) == ("orange", "laifeng.county.office")
    assert g.copies == ("laifeng.prefecture.office",)
    assert g.level.limit == dt.timedelta(hours=3)
    assert g.reasons == ("workers_involved 101 > 100 (涉及人数 101 > 100 人)",)

    both = figs(amount="1000000", regions=("xiangfeng", "baifusi"), workers=6)
    g = grade(policy, both)
    assert g.level is not None and g.level.id == "orange"
    assert len(g.reasons) == 1
    assert "amount_yuan 1000000 >= 1000000" in g.reasons[0]
    assert "regions_affected 2 >= 2" in g.reasons[0]
    assert grade(policy, figs(amount="1000000")).level is None

    out = grade(policy, figs(category="social_insurance", workers=500))
    assert out.level is None
    assert "laifeng-2024" in out.reasons[0]


def test_a_third_county_alone(tmp_path: Path) -> None:
    """A directory may hold just the one county."""
    write_county(tmp_path, with_built_ins=False)
    registry = Registry.load(tmp_path)
    assert registry.ids() == ["laifeng"]
    assert list(load_policies(registry, tmp_path)) == ["laifeng"]


# ------------------------------------------------------------------ errors: file and line


@pytest.mark.parametrize("limit", ["limit: PT3H", "limit: P1D"])
def test_invalid_limit_names_file_and_line(tmp_path: Path, limit: str) -> None:
    """`limit: soon` in either level: the error gives the file and that line."""
    text = LAIFENG.replace(limit, "limit: soon")
    path = write_county(tmp_path, text)
    registry = Registry.load(tmp_path)  # the registry leaves the policy to grading
    with pytest.raises(PolicyError) as caught:
        load_policies(registry, tmp_path)
    message = str(caught.value)
    assert f"{path}:{line_of(text, 'limit: soon')}:" in message
    level = 0 if limit == "limit: PT3H" else 1
    assert f"policy.levels.{level}.limit" in message


def test_missing_bound_names_the_condition_line(tmp_path: Path) -> None:
    """A condition with no bound: the error points at that condition's line."""
    text = LAIFENG.replace("{figure: workers_involved, at_least: 5}", "{figure: workers_involved}")
    path = write_county(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policies(Registry.load(tmp_path), tmp_path)
    message = str(caught.value)
    assert f"{path}:{line_of(text, '{figure: workers_involved}')}:" in message
    assert "policy.levels.1.when.0" in message


@pytest.mark.parametrize(
    ("old", "new", "body"),
    [
        ("route: laifeng.county.office", "route: laifeng.nowhere", "laifeng.nowhere"),
        ("copies: [laifeng.county.office]", "copies: [laifeng.ghost]", "laifeng.ghost"),
        (
            "assessors: [laifeng.county.office]",
            "assessors: [laifeng.phantom]",
            "laifeng.phantom",
        ),
        (
            "  - {id: baifusi, name: 百福司镇}",
            "  - {id: baifusi, name: 百福司镇}\n  - {id: zhaizi, name: 旧司镇}",
            "laifeng.zhaizi.station",
        ),
    ],
)
def test_unknown_body_names_the_file(tmp_path: Path, old: str, new: str, body: str) -> None:
    """A route, copy or assessor naming no body (for any region): the error names the file."""
    assert old in LAIFENG
    path = write_county(tmp_path, LAIFENG.replace(old, new))
    registry = Registry.load(tmp_path)
    with pytest.raises(PolicyError) as caught:
        load_policies(registry, tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert re.search(rf"{re.escape(str(path))}:\d+:", message)
    assert f"unknown body {body}" in message
    # The line is the one that names the body (a region's missing body: its route line).
    text = path.read_text(encoding="utf-8").splitlines()
    line = int(message.split(f"{path}:", 1)[1].split(":", 1)[0])
    expected = "route:" if body == "laifeng.zhaizi.station" else body
    assert expected in text[line - 1]


GREEN = "    - id: green\n      label: 三级绿色预警\n      rank: 1"


@pytest.mark.parametrize(
    ("replacement", "problem"),
    [
        ("    - id: green\n      label: 三级绿色预警\n      rank: 2", "ranks"),
        ("    - id: orange\n      label: 三级绿色预警\n      rank: 1", "ids"),
    ],
)
def test_duplicate_levels_in_a_file_name_the_file(
    tmp_path: Path, replacement: str, problem: str
) -> None:
    """Duplicate level ranks or ids in a file: the error names the file."""
    assert GREEN in LAIFENG
    path = write_county(tmp_path, LAIFENG.replace(GREEN, replacement))
    with pytest.raises(PolicyError) as caught:
        load_policies(Registry.load(tmp_path), tmp_path)
    message = str(caught.value)
    assert f"{path}:" in message
    assert f"level {problem} must be unique" in message


def test_cluster_level_in_a_file_must_name_a_level(tmp_path: Path) -> None:
    """A cluster rule naming no level: the error names the file."""
    text = LAIFENG.replace(
        "  assessors: [laifeng.county.office]",
        "  cluster: {within: P30D, min_incidents: 2, min_regions: 2, min_workers: 50, "
        "level: red}\n  assessors: [laifeng.county.office]",
    )
    path = write_county(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policies(Registry.load(tmp_path), tmp_path)
    assert f"{path}:" in str(caught.value)
    assert "cluster.level 'red' is not a level" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [
        {"levels": [{**LEVEL, "when": [{"flag": "extreme_individual"}], "limit": "-PT1H"}]},
        {"cluster": {**CLUSTER, "within": "-P30D", "level": "high"}},
        {"levels": [{**LEVEL, "when": [{"flag": "extreme_individual"}], "limit": "PT0S"}]},
    ],
)
def test_negative_durations_are_rejected(bad: dict[str, Any]) -> None:
    """A reporting limit or a cluster window must be a positive duration."""
    with pytest.raises(ValidationError):
        Policy.model_validate({**two_levels(), **bad})

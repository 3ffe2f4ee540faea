"""The registry of jurisdictions: the built-in two, extra ones from a directory, bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from libs.common.jurisdictions import BUILT_IN_DIR, Registry, RegistryError

XUANEN_REGIONS = {
    "zhushan": "珠山镇",
    "jiaoyuan": "椒园镇",
    "shadaogou": "沙道沟镇",
    "lijiahe": "李家河镇",
    "gaoluo": "高罗镇",
    "wanzhai": "万寨乡",
    "changtanhe": "长潭河侗族乡",
    "xiaoguan": "晓关侗族乡",
    "chunmuying": "椿木营乡",
}
CHANGCHUN_REGIONS = {
    "nanguan": "南关区",
    "kuancheng": "宽城区",
    "chaoyang": "朝阳区",
    "erdao": "二道区",
    "lvyuan": "绿园区",
    "shuangyang": "双阳区",
    "jiutai": "九台区",
    "yushu": "榆树市",
    "dehui": "德惠市",
    "gongzhuling": "公主岭市",
    "nongan": "农安县",
}
XUANEN_BODIES = {
    f"xuanen.{r}.{b}" for r in XUANEN_REGIONS for b in ("tripartite", "government")
} | {
    "xuanen.county.tripartite",
    "xuanen.county.government",
    "xuanen.bureau.leading_group",
    "xuanen.prefecture.tripartite",
}
CHANGCHUN_BODIES = {
    "changchun.leading_group",
    "changchun.leading_group_office",
    "changchun.director",
    "changchun.city_government",
    # 成员单位 (seed 002 三)
    *(
        f"changchun.member.{unit}"
        for unit in (
            "policy_research",
            "regulations",
            "hr_market",
            "labor_relations",
            "mediation_arbitration",
            "pension_insurance",
            "work_injury_insurance",
            "petitions",
            "labor_inspection",
            "statistics_center",
            "arbitration_court",
        )
    ),
}

THIRD = """\
id: enshi
name: 恩施州
policy:
  id: enshi-2024
  levels:
    - {id: orange, label: 橙色预警, rank: 1}
regions:
  - {id: enshi_city, name: 恩施市}
  - {id: lichuan, name: 利川市}
bodies:
  - {id: enshi.province, name: 省人社厅, external: true}
  - {id: enshi.bureau, name: 州人社局, parent: enshi.province}
  - {id: enshi.lichuan.office, name: 利川市办公室, region: lichuan, parent: enshi.bureau}
"""


def chain(registry: Registry, body_id: str) -> list[str]:
    """The body and every body above it, following `parent`."""
    found = registry.body(body_id)
    assert found is not None, body_id
    jurisdiction, body = found
    out = [body.id]
    while body.parent is not None:
        body = jurisdiction.bodies_by_id[body.parent]
        out.append(body.id)
        assert len(out) < 20, "a cycle of parents"
    return out


@pytest.fixture(scope="module")
def built_in() -> Registry:
    return Registry.load()


def test_the_built_in_jurisdictions(built_in: Registry) -> None:
    assert built_in.ids() == ["changchun", "xuanen"]
    xuanen, changchun = built_in.get("xuanen"), built_in.get("changchun")
    assert xuanen is not None
    assert changchun is not None
    assert built_in.get("beijing") is None

    assert (xuanen.name, xuanen.policy.id) == ("宣恩县", "xuanen-2021")
    assert {r.id: r.name for r in xuanen.regions} == XUANEN_REGIONS
    assert xuanen.region_ids == frozenset(XUANEN_REGIONS)
    assert {b.id for b in xuanen.bodies} == XUANEN_BODIES
    assert {lvl.id for lvl in xuanen.policy.levels} == {"level1", "level2"}

    assert (changchun.name, changchun.policy.id) == ("长春市", "changchun-2020")
    assert {r.id: r.name for r in changchun.regions} == CHANGCHUN_REGIONS
    assert {b.id for b in changchun.bodies} == CHANGCHUN_BODIES
    levels = {lvl.id: lvl.rank for lvl in changchun.policy.levels}
    assert set(levels) == {"red", "yellow", "blue"}
    assert levels["red"] > levels["yellow"] > levels["blue"]


@pytest.mark.parametrize("region", sorted(XUANEN_REGIONS))
def test_xuanen_escalates_from_each_township(built_in: Registry, region: str) -> None:
    assert chain(built_in, f"xuanen.{region}.tripartite") == [
        f"xuanen.{region}.tripartite",
        "xuanen.county.tripartite",
        "xuanen.prefecture.tripartite",
    ]
    jurisdiction, body = built_in.body(f"xuanen.{region}.tripartite") or (None, None)
    assert jurisdiction is not None
    assert jurisdiction.id == "xuanen"
    assert body is not None
    assert body.region == region


def test_changchun_escalates_up_to_the_city_government(built_in: Registry) -> None:
    assert chain(built_in, "changchun.leading_group_office") == [
        "changchun.leading_group_office",
        "changchun.leading_group",
        "changchun.director",
        "changchun.city_government",
    ]


def test_each_township_has_its_party_committee_and_government(built_in: Registry) -> None:
    """乡镇党委政府 and 县委县政府 receive copies of Xuan'en's warnings (seeds/000 三(三))."""
    xuanen = built_in.get("xuanen")
    assert xuanen is not None
    for region, name in XUANEN_REGIONS.items():
        body = xuanen.bodies_by_id[f"xuanen.{region}.government"]
        assert (body.name, body.region, body.external) == (f"{name}党委政府", region, False)
    assert xuanen.bodies_by_id["xuanen.county.government"].name == "县委县政府"


def test_only_the_outside_bodies_are_external(built_in: Registry) -> None:
    external = {b.id for j in built_in for b in j.bodies if b.external}
    assert external == {"xuanen.prefecture.tripartite", "changchun.city_government"}
    assert built_in.body("changchun.mayor") is None


def test_a_third_jurisdiction_loads_from_a_directory(tmp_path: Path) -> None:
    for path in BUILT_IN_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    (tmp_path / "enshi.yml").write_text(THIRD, encoding="utf-8")
    registry = Registry.load(tmp_path)
    assert registry.ids() == ["changchun", "enshi", "xuanen"]
    enshi = registry.get("enshi")
    assert enshi is not None
    assert enshi.region_ids == {"enshi_city", "lichuan"}
    assert enshi.timezone == "Asia/Shanghai"
    assert chain(registry, "enshi.lichuan.office") == [
        "enshi.lichuan.office",
        "enshi.bureau",
        "enshi.province",
    ]
    # The built-in ones are unchanged alongside it.
    assert chain(registry, "changchun.leading_group_office")[-1] == "changchun.city_government"


def test_a_directory_replaces_the_built_in_ones(tmp_path: Path) -> None:
    (tmp_path / "enshi.yaml").write_text(THIRD, encoding="utf-8")
    assert Registry.load(tmp_path).ids() == ["enshi"]


def _variant(old: str, new: str) -> str:
    assert old in THIRD, old
    return THIRD.replace(old, new)


BAD_FILES = {
    "unknown-parent": (
        _variant("parent: enshi.bureau}", "parent: enshi.nowhere}"),
        "enshi.nowhere",
    ),
    "duplicate-region": (
        _variant(
            "  - {id: lichuan, name: 利川市}\n",
            "  - {id: lichuan, name: 利川市}\n  - {id: lichuan, name: 又一个}\n",
        ),
        "lichuan",
    ),
    "yaml-syntax": (THIRD + "regions: [unclosed\n", "YAML"),
    "body-of-another-jurisdiction": (
        _variant("id: enshi.bureau,", "id: xuanen.bureau2,"),
        "xuanen.bureau2",
    ),
    "body-in-unknown-region": (_variant("region: lichuan", "region: badong"), "badong"),
    "unknown-field": (THIRD + "mayor: 张三\n", "mayor"),
    "no-regions": (
        _variant(
            "regions:\n  - {id: enshi_city, name: 恩施市}\n  - {id: lichuan, name: 利川市}\n",
            "regions: []\n",
        ).replace(", region: lichuan", ""),
        "regions",
    ),
    "bad-id": (_variant("id: enshi\n", "id: Enshi-Zhou\n"), "id"),
    "empty-file": ("", "(top)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_naming_the_file(tmp_path: Path, case: str) -> None:
    text, mention = BAD_FILES[case]
    (tmp_path / "changchun.yaml").write_text(
        (BUILT_IN_DIR / "changchun.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    bad = tmp_path / "enshi.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        Registry.load(tmp_path)
    message = str(exc.value)
    assert str(bad) in message
    assert mention in message
    assert "changchun.yaml" not in message


def test_the_same_jurisdiction_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(THIRD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(THIRD, encoding="utf-8")
    with pytest.raises(RegistryError, match="enshi"):
        Registry.load(tmp_path)


def test_a_directory_without_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("no yaml here", encoding="utf-8")
    with pytest.raises(RegistryError) as exc:
        Registry.load(tmp_path)
    assert str(tmp_path) in str(exc.value)

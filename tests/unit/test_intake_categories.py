"""Mapping a hotline work order's category to a contract category."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.categories import (
    CONTRACT_CATEGORIES,
    HOTLINE_CATEGORY_NAMES,
    map_hotline_category,
)
from tests.support import full_width

# ---------------------------------------------------------------------------
# Hotline categories
# ---------------------------------------------------------------------------

EXPECTED_NAMES = {
    "wage_arrears": ["欠薪", "拖欠工资", "工资拖欠", "欠薪讨薪", "讨薪", "工资"],
    "labor_contract": ["劳动合同", "解除劳动合同", "终止劳动合同", "未签劳动合同"],
    "labor_dispatch": ["劳务派遣", "派遣"],
    "hr_outsourcing": ["人力资源服务", "劳务外包", "人力资源外包", "外包"],
    "work_injury": ["工伤", "工伤认定"],
    "retirement": ["退休", "退休认定", "退休审批"],
    "public_opinion": ["舆情", "网络舆情"],
    "social_insurance": ["社保", "社会保险", "社保欠缴", "养老保险", "医疗保险", "失业保险"],
    "working_hours": ["工时", "工作时间", "加班"],
    "rest_leave": ["休息休假", "休假", "年休假"],
    "collective_contract": ["集体合同"],
    "layoff": ["裁员", "经济性裁员"],
    "other": ["其他"],
}


@pytest.mark.parametrize(
    ("name", "category"),
    [(name, category) for category, names in EXPECTED_NAMES.items() for name in names],
)
def test_chinese_names_map(name: str, category: str) -> None:
    """Map each required Chinese name to its contract category."""
    assert map_hotline_category(name) == category
    assert HOTLINE_CATEGORY_NAMES[name] == category


@pytest.mark.parametrize("category", CONTRACT_CATEGORIES)
def test_contract_names_map_to_themselves(category: str) -> None:
    """Map contract identifiers to themselves, ignoring case and surrounding space."""
    assert map_hotline_category(category) == category
    assert map_hotline_category(f"  {category.upper()} ") == category


def test_every_category_is_reachable_and_values_are_contract_categories() -> None:
    """Keep the table's values within the contract and its keys normalised."""
    assert set(HOTLINE_CATEGORY_NAMES.values()) == set(CONTRACT_CATEGORIES)
    for key in HOTLINE_CATEGORY_NAMES:
        assert map_hotline_category(key) == HOTLINE_CATEGORY_NAMES[key]
        assert key == key.strip().lower()
        assert " " not in key


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("  欠 薪 ", "wage_arrears"),
        ("\u3000工伤认定\u3000", "work_injury"),  # ideographic spaces
        (full_width("WAGE_ARREARS"), "wage_arrears"),
        (full_width("wage") + "_arrears", "wage_arrears"),
        (full_width("  工伤 认定  "), "work_injury"),
        ("Layoff", "layoff"),
    ],
)
def test_input_is_normalised(text: str, category: str) -> None:
    """Strip, NFKC-fold, remove inner whitespace and lowercase before matching."""
    assert map_hotline_category(text) == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("拖欠农民工工资", "wage_arrears"),
        ("反映某工地拖欠农民工工资问题", "wage_arrears"),
        ("工伤保险待遇", "work_injury"),
        ("咨询工伤保险待遇申领", "work_injury"),
        ("未签劳动合同要求支付双倍工资", "labor_contract"),  # longer name beats 工资
        ("社会保险费欠缴", "social_insurance"),
        ("用人单位不缴纳养老保险", "social_insurance"),
        ("劳务派遣用工", "labor_dispatch"),
        ("经济性裁员补偿", "layoff"),
        ("集体合同争议", "collective_contract"),
        ("网络舆情监测", "public_opinion"),
        ("其他工资问题", "wage_arrears"),  # 其他 is a last resort
        ("其他咨询", "other"),
        ("加班工资", "working_hours"),  # equal length: earliest occurrence wins
        ("工资加班", "wage_arrears"),
    ],
)
def test_contained_names_pick_most_specific(text: str, category: str) -> None:
    """Match the longest contained name, then the earliest, with 其他 as last resort."""
    assert map_hotline_category(text) == category


@pytest.mark.parametrize("text", ["", "   ", "咨询政策", "unknown", "wage", "噪音扰民"])
def test_unknown_text_maps_to_none(text: str) -> None:
    """Return None when nothing matches."""
    assert map_hotline_category(text) is None


@given(st.text())
def test_mapping_result_is_contract_category_or_none(text: str) -> None:
    """Return a contract category or None for arbitrary text."""
    result = map_hotline_category(text)
    assert result is None or result in CONTRACT_CATEGORIES

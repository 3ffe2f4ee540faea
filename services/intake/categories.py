"""Hotline work-order categories: mapping a 12345 / 12333 category text to a contract category."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

# ---------------------------------------------------------------------------
# Hotline (12345 / 12333) work-order categories
# ---------------------------------------------------------------------------

Category = Literal[
    "labor_contract",
    "wage_arrears",
    "labor_dispatch",
    "hr_outsourcing",
    "work_injury",
    "retirement",
    "public_opinion",
    "social_insurance",
    "working_hours",
    "rest_leave",
    "collective_contract",
    "layoff",
    "other",
]
"""A report's category, as the contract names it."""

CONTRACT_CATEGORIES: Final[tuple[str, ...]] = get_args(Category)

_CHINESE_CATEGORY_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "wage_arrears": (
        "欠薪",
        "拖欠工资",
        "工资拖欠",
        "欠薪讨薪",
        "讨薪",
        "工资",
        "欠发工资",
        "克扣工资",
        "农民工工资",
        "拖欠农民工工资",
        "劳动报酬",
    ),
    "labor_contract": (
        "劳动合同",
        "解除劳动合同",
        "终止劳动合同",
        "未签劳动合同",
        "未签订劳动合同",
    ),
    "labor_dispatch": ("劳务派遣", "派遣"),
    "hr_outsourcing": ("人力资源服务", "劳务外包", "人力资源外包", "外包"),
    "work_injury": ("工伤", "工伤认定", "工伤保险", "工伤保险待遇"),
    "retirement": ("退休", "退休认定", "退休审批"),
    "public_opinion": ("舆情", "网络舆情"),
    "social_insurance": (
        "社保",
        "社会保险",
        "社保欠缴",
        "欠缴社保",
        "养老保险",
        "医疗保险",
        "失业保险",
    ),
    "working_hours": ("工时", "工作时间", "加班"),
    "rest_leave": ("休息休假", "休假", "年休假"),
    "collective_contract": ("集体合同",),
    "layoff": ("裁员", "经济性裁员"),
    "other": ("其他",),
}


def _normalise_category_text(text: str) -> str:
    """Strip, NFKC-fold, drop all whitespace and lowercase category text."""
    folded = unicodedata.normalize("NFKC", text.strip())
    return "".join(folded.split()).lower()


def _build_category_names() -> dict[str, str]:
    """Build the lookup table of normalised names to contract categories."""
    table: dict[str, str] = {category: category for category in CONTRACT_CATEGORIES}
    for category, names in _CHINESE_CATEGORY_NAMES.items():
        for name in names:
            key = _normalise_category_text(name)
            if table.setdefault(key, category) != category:
                raise ValueError(f"hotline category name {name!r} is mapped twice")
    return table


HOTLINE_CATEGORY_NAMES: Final[Mapping[str, str]] = MappingProxyType(_build_category_names())
"""Normalised category name -> contract category (contract names map to themselves)."""

# Substring candidates: the Chinese names, in table order (used as the final tie-break).
_SUBSTRING_NAMES: Final[tuple[tuple[int, str, str], ...]] = tuple(
    (index, name, category)
    for index, (name, category) in enumerate(HOTLINE_CATEGORY_NAMES.items())
    if name not in CONTRACT_CATEGORIES
)


def map_hotline_category(name: str) -> str | None:
    """Map a hotline work-order category text to a contract category, or None.

    The text is normalised (strip, NFKC, whitespace removed, Latin lowercased) and looked
    up exactly first. Otherwise every known Chinese name contained in the text is a
    candidate and the winner is chosen by, in order:

    1. a non-"other" category beats "other" (其他 is only a last resort);
    2. the longest name wins, so specific names beat generic ones
       ("工伤保险待遇" -> work_injury, "拖欠农民工工资" -> wage_arrears);
    3. the name occurring earliest in the text wins;
    4. the name listed first in HOTLINE_CATEGORY_NAMES wins.
    """
    text = _normalise_category_text(name)
    if not text:
        return None
    exact = HOTLINE_CATEGORY_NAMES.get(text)
    if exact is not None:
        return exact
    best: tuple[bool, int, int, int] | None = None
    best_category: str | None = None
    for index, candidate, category in _SUBSTRING_NAMES:
        position = text.find(candidate)
        if position < 0:
            continue
        rank = (category == "other", -len(candidate), position, index)
        if best is None or rank < best:
            best = rank
            best_category = category
    return best_category

"""The warning-information form as a Word document (预警信息情况表, seed 000's attachment).

The layout is a template the office can open and adjust in Word
(`services/cases/templates/form.docx`, remade by `python -m scripts.form_template`); this
fills its `{{ … }}` fields (docxtpl's syntax, compiled once with Jinja). Before filing it is
a draft made from the incident's structured fields, marked 草稿; no reporter's or caller's
personal data is ever in it (the case holds none)."""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from docxtpl import DocxTemplate

from libs.common.jurisdictions import Jurisdiction
from services.cases.case import Case

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEMPLATE = Path(__file__).with_name("templates") / "form.docx"
_BODY = "word/document.xml"

# The table's rows, in the seed's order and wording: (label, the context's name).
ROWS: tuple[tuple[str, str], ...] = (
    ("预警企业名称", "enterprise_name"),
    ("预警级别", "level_label"),
    ("预警信息（时间、地点、起因、诉求和规模）", "warning_info"),
    ("原因分析", "cause_analysis"),
    ("当前事态状况及发展趋势预测", "situation_trend"),
    ("已采取措施及成效", "measures_effect"),
    ("下一步工作方案", "next_plan"),
    ("企业相关资料信息", "enterprise_info"),
)
CATEGORIES = {
    "labor_contract": "劳动合同",
    "wage_arrears": "拖欠工资",
    "labor_dispatch": "劳务派遣",
    "hr_outsourcing": "人力资源服务外包",
    "work_injury": "工伤认定",
    "retirement": "退休认定",
    "public_opinion": "舆情",
    "social_insurance": "社会保险",
    "working_hours": "工作时间",
    "rest_leave": "休息休假",
    "collective_contract": "集体合同",
    "layoff": "裁员",
    "other": "其他",
}
COLLECTIVE_ACTION = {"none": "无", "possible": "可能发生", "occurred": "已经发生"}


def render_form(case: Case, jurisdiction: Jurisdiction) -> bytes:
    """The form of a case as a .docx: the latest filing, or the draft."""
    body, parts = _compiled(TEMPLATE)
    document = body.render(context(case, jurisdiction)).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as docx:
        for name, data in parts.items():
            docx.writestr(name, document if name == _BODY else data)
    return out.getvalue()


@functools.cache
def _compiled(path: Path) -> tuple[jinja2.Template, dict[str, bytes]]:
    """The template's body, its `{{ … }}` fields made whole again by docxtpl (Word may split
    a field over several runs) and compiled once, and the package's other parts as they are."""
    with zipfile.ZipFile(path) as docx:
        parts = {name: docx.read(name) for name in docx.namelist()}
    patched = DocxTemplate(str(path)).patch_xml(parts[_BODY].decode("utf-8"))
    return jinja2.Environment(autoescape=True).from_string(patched), parts


def context(case: Case, jurisdiction: Jurisdiction) -> dict[str, Any]:
    """What the template is filled with."""
    filed: dict[str, Any] | None = case.content.get("form")
    facts = case.facts
    values: dict[str, Any] = {
        "title": jurisdiction.cases.title(jurisdiction.name),
        "draft": "" if filed else "草稿",
        "enterprise_name": facts.get("enterprise_name") or "",
        "level_label": case.level_label or "",
        "warning_info": warning_info(facts, jurisdiction),
        "enterprise_info": enterprise_info(facts),
        "reporting_unit": case.responsible_name,
        "year": "",
        "month": "",
        "day": "",
    }
    for name in ("cause_analysis", "situation_trend", "measures_effect", "next_plan"):
        values[name] = ""
    for name in ("responsible_person", "filer", "phone"):
        values[name] = ""
    if filed:
        values.update({k: v for k, v in filed.items() if isinstance(v, str) and v})
        values["enterprise_name"] = filed.get("enterprise_name") or values["enterprise_name"]
        values["level_label"] = filed.get("level_label") or values["level_label"]
        local = dt.datetime.fromisoformat(filed["filed_at"]).astimezone(
            ZoneInfo(jurisdiction.timezone)
        )
        values.update(year=str(local.year), month=str(local.month), day=str(local.day))
    values["rows"] = [{"label": label, "value": values[name]} for label, name in ROWS]
    return values


def warning_info(facts: dict[str, Any], jurisdiction: Jurisdiction) -> str:
    """时间、地点、起因、诉求和规模, from the incident's structured fields only."""
    regions = {r.id: r.name for r in jurisdiction.regions}
    opened = facts.get("opened_at")
    when = ""
    if opened:
        local = dt.datetime.fromisoformat(opened).astimezone(ZoneInfo(jurisdiction.timezone))
        when = f"{local.year}年{local.month}月{local.day}日"
    places = "、".join(regions.get(r, r) for r in facts.get("regions") or [])
    parts = [
        f"时间：{when or '—'}",
        f"地点：{jurisdiction.name}{places}",
        f"起因：{CATEGORIES.get(facts.get('category') or '', '—')}",
        f"规模：涉及{facts.get('workers_involved') or 0}人",
    ]
    amount = _yuan(facts.get("amount_yuan"))
    if amount:
        parts.append(f"涉及金额{amount}")
    if facts.get("terminations"):
        parts.append(f"解除劳动关系{facts['terminations']}人")
    action = COLLECTIVE_ACTION.get(facts.get("collective_action") or "none", "无")
    parts.append(f"集体行动：{action}")
    return "；".join(parts) + "。"


def enterprise_info(facts: dict[str, Any]) -> str:
    """The enterprise's name, credit code and industry."""
    parts = [f"企业名称：{facts.get('enterprise_name') or '—'}"]
    parts.append(f"统一社会信用代码：{facts.get('credit_code') or '—'}")
    parts.append(f"所属行业：{facts.get('industry') or '—'}")
    return "；".join(parts) + "。"


def _yuan(amount: Any) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return ""
    if value <= 0:
        return ""
    if value >= 10000:
        return f"{(value / 10000).normalize():f}万元"
    return f"{value.normalize():f}元"

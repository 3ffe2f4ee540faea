"""The Chinese names a briefing shows for the contract's codes (defined once, here)."""

from __future__ import annotations

from typing import Final

CATEGORIES: Final = {
    "labor_contract": "劳动合同",
    "wage_arrears": "拖欠工资",
    "labor_dispatch": "劳务派遣",
    "hr_outsourcing": "人力资源服务和外包",
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
SOURCES: Final = {
    "agency": "部门报送",
    "hotline_12345": "12345热线",
    "hotline_12333": "12333热线",
    "complaint": "投诉举报",
    "media": "媒体舆情",
    "inspection": "劳动监察",
    "campaign": "专项行动",
    "assignment": "上级交办",
    "monitoring": "定点监测",
    "other": "其他",
}
INDICATORS: Final = {
    "headcount": "用工人数",
    "wages_unpaid": "欠发工资",
    "social_insurance_arrears_months": "欠缴社保月数",
    "layoffs": "裁员人数",
    "disputes": "劳动争议",
    "observation": "未按期报送",
}
CASE_STATUS: Final = {
    "open": "处置中（待提交预案）",
    "awaiting_approval": "待局长审定",
    "responding": "处置中",
    "closed": "已办结",
}
REVIEW_KINDS: Final = {"regular": "例会", "special": "专题会商"}
DOCUMENTS: Final = {"quarter": "季度简报", "half": "半年监测分析报告", "month": "月度简报"}
NARRATIVE: Final = (
    ("factors", "影响因素"),
    ("risks", "重大风险"),
    ("trends", "发展趋势"),
    ("next_steps", "下一步工作"),
)
TO_FILL: Final = "（待填写）"


def name_of(names: dict[str, str], code: str | None) -> str:
    """The Chinese name of a code, or the code itself where none is known."""
    if not code:
        return "未填报"
    return names.get(code, code)

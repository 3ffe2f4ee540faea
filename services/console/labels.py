"""Chinese words of the statistics, monitoring and sharing pages, who sees those pages, and
the periods a user picks (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from libs.common.jurisdictions import Registry
from services.console import words
from services.console.client import ApiError
from services.console.tables import StaffUser

REASONS = {
    "new_economy": "新业态",
    "trade_friction": "受贸易摩擦影响",
    "restructuring": "转制改制、兼并重组",
    "bankruptcy": "关闭破产",
    "other": "其他",
}

ALERT_KINDS = {"threshold": "触线警报", "anomaly": "数据异动", "missing": "未按时报送"}

INDICATORS = {
    "headcount": "用工人数",
    "wages_due_yuan": "应发工资（元）",
    "wages_paid_yuan": "实发工资（元）",
    "wages_unpaid": "欠发工资",
    "wages_paid": "实发工资",
    "social_insurance_arrears_months": "社保欠缴月数",
    "layoffs": "裁员人数",
    "disputes": "劳动争议件数",
    "observation": "月度数据",
}

UPLOAD_FIELDS = {
    "credit_code": "统一社会信用代码",
    "period": "月份",
    "header": "表头",
    **INDICATORS,
}

EVENTS = {
    "incident.warning": "预警发布",
    "incident.closed": "预警关闭或解除",
    "case.closed": "处置办结",
    "monitoring.alert": "定点监测警报",
}

DELIVERY_STATUS = {"pending": "待发送", "delivered": "已送达", "failed": "失败"}

REVIEW_KINDS = {"regular": "定期研判会商", "special": "专题预警分析会"}

NARRATIVE = (
    ("factors", "影响因素"),
    ("risks", "重大风险"),
    ("trends", "发展趋势"),
    ("next_steps", "下一步工作"),
)

# English messages of the API's validation, as the console says them.
_MESSAGES = (
    (r"is not a monitored enterprise", "该企业未列入定点监测名录，请先登记"),
    (r"has not begun", "该月份尚未开始"),
    (r"the same enterprise and month as row (\d+)", r"与第 \1 行为同一企业同一月份"),
    (r"missing column", "缺少此列"),
    (r"valid unified social credit code|valid credit code", "统一社会信用代码无效（校验位不符）"),
    (r"wages paid exceed wages due", "实发工资超过应发工资"),
    (r"Field required", "必须填写"),
    (r"should be greater than or equal to", "不能为负数"),
    (r"should be a valid (integer|number|decimal)", "应为数字"),
    (r"should match pattern", "格式不正确（月份如 2026-10）"),
    (r"at least 18 characters|at most 18 characters", "应为 18 位"),
    (r"not of this key's jurisdiction", "不属于本单位所在辖区"),
    (r"in the future", "不能晚于现在"),
    (r"valid datetime|valid date", "日期时间格式不正确"),
    (r"String should have at least 1 character", "必须填写"),
    (r"(loopback|link-local|unspecified|private)", "不允许使用本机或内网地址"),
    (r"(URL|url|scheme)", "地址须为 http(s) 网址"),
    (r"needs a time zone", "须含时区"),
    (r"not incidents of", "不是本辖区的预警事件"),
    (r"is not a date", "日期格式不正确"),
    (r"cannot be resolved", "无法解析该地址的主机名"),
    (r"issued and frozen|already issue", "该期简报已印发，不能再修改"),
    (r"from.*after|after.*to\b", "起始日期不能晚于截止日期"),
    (r"ten years", "统计期间不能超过十年"),
)


def message_zh(message: str) -> str:
    """An API validation message in Chinese (the English kept after it, for the record)."""
    for pattern, said in _MESSAGES:
        found = re.search(pattern, message)
        if found:
            return f"{found.expand(said)}（{message}）"
    return message


def problem_zh(error: ApiError) -> str:
    """An API problem in Chinese, for the top of a form."""
    detail = message_zh(error.detail)
    said = words.PROBLEMS.get(error.status)
    return f"{said}（{detail}）" if said else f"操作未完成：{detail}"


def upload_errors(errors: list[dict[str, Any]]) -> list[str]:
    """A 422 upload's errors, one Chinese line each: the row, the column, what is wrong."""
    lines = []
    for e in errors:
        field = str(e.get("field") or (e.get("loc") or ["?"])[-1])
        label = UPLOAD_FIELDS.get(field, field)
        row = e.get("row")
        where = f"第 {row} 行" if row else "文件"
        lines.append(f"{where} · {label}：{message_zh(str(e.get('msg', '取值无效')))}")
    return lines


def figures_reader(registry: Registry) -> Callable[[StaffUser], bool]:
    """Who reads statistics and monitoring: analysts, admins, and responders of a body
    with no region that is not external (CONTRACT.md, "Statistics ...")."""

    def may(user: StaffUser) -> bool:
        if user.role in ("admin", "analyst"):
            return True
        if user.role != "responder" or not user.body_id:
            return False
        found = registry.body(user.body_id)
        return found is not None and not found[1].region and not found[1].external

    return may


def _quarter(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * q - 2, 1)
    end_month = 3 * q
    end = dt.date(year + end_month // 12, end_month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def quick_ranges(today: dt.date) -> dict[str, tuple[str, dt.date, dt.date]]:
    """The period picker's quick choices: this quarter, the last one, this year."""
    q = (today.month - 1) // 3 + 1
    last = (today.year, q - 1) if q > 1 else (today.year - 1, 4)
    return {
        "quarter": ("本季度", *_quarter(today.year, q)),
        "last_quarter": ("上季度", *_quarter(*last)),
        "year": ("本年", dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)),
    }


def briefing_periods(today: dt.date, start: dt.date) -> list[tuple[str, str]]:
    """The briefing periods to offer (code, Chinese): those of the picked range's first day,
    then today's."""
    codes: list[str] = []
    for when in (start, today):
        q, h = (when.month - 1) // 3 + 1, 1 if when.month <= 6 else 2
        for code in (f"{when.year}-Q{q}", f"{when.year}-H{h}", f"{when.year}-{when.month:02d}"):
            if code not in codes:
                codes.append(code)
    return [(c, period_zh(c)) for c in codes]


def period_zh(code: str) -> str:
    """A briefing period in Chinese: 2026年第四季度, 2026年下半年, 2026年11月."""
    year, _, part = code.partition("-")
    if part.startswith("Q"):
        return f"{year}年第{'一二三四'[int(part[1]) - 1]}季度"
    if part.startswith("H"):
        return f"{year}年{'上' if part == 'H1' else '下'}半年"
    return f"{year}年{int(part)}月"


def day(value: str | None, default: dt.date) -> dt.date:
    """A date from a form ('YYYY-MM-DD'), or the default when empty or malformed."""
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


FORM_FIELDS = {
    "from": "起始日期",
    "to": "截止日期",
    "held_at": "召开时间",
    "attendees": "参会单位和人员",
    "incident_ids": "涉及的预警事件",
    "conclusions": "研判结论",
    "measures": "工作措施",
    "factors": "影响因素",
    "risks": "重大风险",
    "trends": "发展趋势",
    "next_steps": "下一步工作",
    "name": "名称",
    "department": "接收部门",
    "url": "推送地址",
    "events": "推送事件",
    "min_level_rank": "最低预警级别",
    "regions": "区域",
    "categories": "类别",
    "jurisdiction": "辖区",
    "region": "区域",
    "industry": "行业",
    "headcount": "用工人数",
    "reason": "列入原因",
    "note": "备注",
    "credit_code": "统一社会信用代码",
}


def form_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """A 422's errors by the form field they concern, in Chinese."""
    found: dict[str, str] = {}
    for item in errors:
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
        name = next((p for p in loc if p in FORM_FIELDS), loc[0] if loc else "")
        said = message_zh(str(item.get("msg") or "取值无效"))
        found[name] = f"{FORM_FIELDS.get(name, name)}：{said}"
    return found

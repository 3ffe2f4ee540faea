"""The console's Chinese words for the API's values (the seeds' wording)."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "labor_contract": "劳动合同",
    "wage_arrears": "拖欠工资",
    "labor_dispatch": "劳务派遣",
    "hr_outsourcing": "人力资源服务与外包",
    "work_injury": "工伤认定",
    "retirement": "退休确认",
    "public_opinion": "舆情风险",
    "social_insurance": "社会保险",
    "working_hours": "工作时间",
    "rest_leave": "休息休假",
    "collective_contract": "集体合同",
    "layoff": "裁员",
    "other": "其他",
}

INCIDENT_STATUS = {"open": "处置中", "closed": "已关闭"}

NOTIFICATION_STATUS = {
    "pending": "待确认",
    "acknowledged": "已确认",
    "overdue": "已超时",
    "closed": "已关闭",
}

CLOSED_REASONS = {
    "superseded": "级别上升，已由新通知替代",
    "lifted": "评估后降级或解除",
    "case_closed": "案件已办结",
    "copy": "抄送，无需确认",
}

ROLES = {
    "reporter": "报送单位",
    "responder": "责任单位",
    "analyst": "分析人员",
    "admin": "系统管理员",
}

SOURCES = {
    "agency": "成员单位报送",
    "hotline": "12345/12333 热线",
    "media": "舆情监测",
    "monitoring": "定点监测",
}

TIMELINE = {
    "opened": "立案",
    "report_added": "新增报告",
    "level_raised": "级别上升",
    "members_added": "并入事件",
    "closed": "关闭",
    "assessment_confirmed": "评估确认级别",
    "level_set_by_assessment": "评估调整级别",
    "report_revealed": "查看报告人信息",
    "notification_sent": "发出通知",
    "notification_reminded": "时限提醒",
    "notification_delivered": "通知已送达",
    "notification_acknowledged": "确认收到",
    "notification_overdue": "超过报送时限",
    "notification_escalated": "超时逐级上报",
    "notification_closed": "通知关闭",
}

# The system's own actors in a timeline.
ACTORS = {"intake": "系统（接报）", "policy": "系统（定级规则）", "notifier": "系统（通知）"}

# What the API says in English, as the console shows it (the rest is shown as it came).
PROBLEMS = {
    401: "登录已失效，请重新登录",
    403: "您的角色无权执行此操作",
    404: "未找到该记录",
    409: "状态已变化，操作未执行（可能已被他人处理）",
}

FIELDS = {
    "reason": "理由",
    "level": "预警级别",
    "decision": "评估结论",
    "note": "说明",
}

# 处置 (seed 002 四(三)) and the warning-information form (seed 000's attachment).
CASE_STATUS = {
    "open": "待制定处置预案",
    "awaiting_approval": "待局长审定",
    "responding": "处置中",
    "closed": "已办结",
}

APPROVAL = {"approved": "同意", "returned": "退回修改"}

STAGES = {"before": "事前预警情况", "during": "事中处置预案", "after": "事后处置结果"}

RESOLUTIONS = {"resolved": "已化解", "no_risk": "经核实无风险", "transferred": "已移交其他部门"}

FIELDS |= {
    "summary": "预案概要",
    "measures": "处置措施",
    "handling_unit": "预警处置单位",
    "lead": "负责人",
    "phone": "联系电话",
    "measures_taken": "已采取措施",
    "effect": "成效",
    "situation": "当前事态",
    "next_steps": "下一步工作",
    "stage": "报告阶段",
    "content": "报告内容",
    "resolution": "办结方式",
    "outcome": "处置结果",
    "reporting_unit": "报告单位",
    "warning_info": "预警信息（时间、地点、起因、诉求和规模）",
    "cause_analysis": "原因分析",
    "situation_trend": "当前事态状况及发展趋势预测",
    "measures_effect": "已采取措施及成效",
    "next_plan": "下一步工作方案",
    "enterprise_info": "企业相关资料信息",
    "responsible_person": "负责人",
    "filer": "填报人",
}

# The API's validation errors, by their type, in Chinese (others, such as a rule's own
# value_error, are shown as the API said them).
ERRORS = {
    "missing": "必须填写",
    "string_too_short": "不能为空",
    "too_short": "至少填写一项",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "请从选项中选择",
}

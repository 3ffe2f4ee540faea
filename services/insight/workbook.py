"""A briefing as an Excel workbook (XlsxWriter): the document's tables as sheets, the incident
list, and native Excel charts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from services.insight import domain, words
from services.insight.briefing import Briefing


class _Book:
    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.bold = workbook.add_format({"bold": True, "bg_color": "#e8eef7", "border": 1})
        self.cell = workbook.add_format({"border": 1})
        self.title = workbook.add_format({"bold": True, "font_size": 14})

    def sheet(self, name: str, title: str) -> Worksheet:
        sheet = self.workbook.add_worksheet(name)
        sheet.write(0, 0, title, self.title)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 8, 14)
        return sheet

    def table(
        self, sheet: Worksheet, row: int, header: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        """Write a table at `row`; return the first row after it and a blank line."""
        sheet.write_row(row, 0, header, self.bold)
        for n, values in enumerate(rows, start=1):
            sheet.write_row(row + n, 0, list(values), self.cell)
        return row + len(rows) + 2


def render(b: Briefing) -> bytes:
    """The briefing as a .xlsx."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book = _Book(workbook)
    _overview(book, b)
    _warnings(book, b)
    _incidents(book, b)
    _timeliness(book, b)
    _monitoring_and_reviews(book, b)
    workbook.close()
    return buffer.getvalue()


def _overview(book: _Book, b: Briefing) -> None:
    sheet = book.sheet("总体情况", f"{b.title}　{b.subtitle}　{b.status}")
    if b.empty:
        sheet.write(1, 0, "本期未收到风险信息，无风险事件，无应报送的预警通知。")
    header = ("指标", "本期", "上期", "环比", "去年同期", "同比")
    rows = [
        (h.name, h.values[0], h.values[1], h.change_previous, h.values[2], h.change_year)
        for h in b.headline
    ]
    after = book.table(sheet, 2, header, rows)
    months = [m["month"] for m in b.stats["by_month"]]
    levels = [lbl for k, lbl in b.level_labels.items() if k != "none"]
    rows_by_month = [
        (m, *(b.monthly_levels.get(m, {}).get(lbl, 0) for lbl in levels)) for m in months
    ]
    end = book.table(sheet, after, ("月份", *levels), rows_by_month)
    chart = book.workbook.add_chart({"type": "column", "subtype": "stacked"})
    colours = {"一级红色预警": "#C62828", "二级黄色预警": "#F9A825", "三级蓝色预警": "#1565C0"}
    for n, label in enumerate(levels, start=1):
        chart.add_series(
            {
                "name": ["总体情况", after, n],
                "categories": ["总体情况", after + 1, 0, after + len(months), 0],
                "values": ["总体情况", after + 1, n, after + len(months), n],
                "fill": {"color": colours.get(label, "#5C6BC0")},
            }
        )
    chart.set_title({"name": "各月预警数量（按级别）"})
    sheet.insert_chart(end, 0, chart)


def _warnings(book: _Book, b: Briefing) -> None:
    sheet = book.sheet("预警情况", "预警情况")
    row = 2
    for name, rows in b.breakdowns.items():
        start = row
        row = book.table(sheet, row, (name, "数量"), rows)
        if name == "风险类别" and rows:
            chart = book.workbook.add_chart({"type": "bar"})
            chart.add_series(
                {
                    "name": "风险事件",
                    "categories": ["预警情况", start + 1, 0, start + len(rows), 0],
                    "values": ["预警情况", start + 1, 1, start + len(rows), 1],
                }
            )
            chart.set_title({"name": "风险事件类别分布"})
            chart.set_legend({"none": True})
            sheet.insert_chart(2, 4, chart)


def _incidents(book: _Book, b: Briefing) -> None:
    sheet = book.sheet("事件清单", "预警事件清单（处置情况）")
    header = (
        "企业",
        "地区",
        "类别",
        "行业",
        "开始日期",
        "最高预警级别",
        "当前级别",
        "事件状态",
        "涉及职工（人）",
        "涉及金额（万元）",
        "处置单位",
        "案件状态",
    )
    rows = [
        (
            i["enterprise_name"] or "—",
            i["region_name"],
            words.name_of(words.CATEGORIES, i["category"]),
            i["industry"] or "未填报",
            domain.chinese_date(i["day"]),
            i["top_label"] or "—",
            i["level_label"] or "已解除",
            "已关闭" if i["status"] == "closed" else "处置中",
            i["workers"],
            float(i["amount_yuan"]) / 10000,
            i["unit"],
            words.name_of(words.CASE_STATUS, i["case_status"]) if i["case_status"] else "未立案",
        )
        for i in b.incidents
    ]
    book.table(sheet, 2, header, rows)


def _timeliness(book: _Book, b: Briefing) -> None:
    sheet = book.sheet("报送时效", "报送时效")
    n = b.stats["notifications"]
    totals = [
        ("应报送", n["due"]),
        ("按时", n["on_time"]),
        ("超时或未报送", n["late"]),
        ("尚未到期", n["open"]),
    ]
    after = book.table(sheet, 2, ("合计", "件"), totals)
    end = book.table(sheet, after, ("责任单位", "应报送", "按时", "超时", "按时率"), b.on_time)
    if b.on_time:
        chart = book.workbook.add_chart({"type": "bar"})
        for col, name, colour in ((2, "按时", "#2E7D32"), (3, "超时", "#C62828")):
            chart.add_series(
                {
                    "name": name,
                    "categories": ["报送时效", after + 1, 0, after + len(b.on_time), 0],
                    "values": ["报送时效", after + 1, col, after + len(b.on_time), col],
                    "fill": {"color": colour},
                }
            )
        chart.set_title({"name": "各责任单位报送时效"})
        sheet.insert_chart(end, 0, chart)


def _monitoring_and_reviews(book: _Book, b: Briefing) -> None:
    sheet = book.sheet("定点监测", "定点监测情况")
    m = b.monitoring
    row = book.table(
        sheet,
        2,
        ("项目", "数量"),
        [("发出警报的企业（家）", m["enterprises"]), ("未按期报送（次）", m["missing"])],
    )
    by_indicator = [
        (words.name_of(words.INDICATORS, k), v) for k, v in sorted(m["by_indicator"].items())
    ]
    book.table(sheet, row, ("监测指标", "警报数"), by_indicator)
    sheet = book.sheet("会商研判", "会商研判")
    rows = [
        (
            domain.chinese_date(domain.local_day(r.held_at, b.timezone)),
            words.REVIEW_KINDS.get(r.kind, r.kind),
            "、".join(r.attendees),
            r.conclusions,
            r.measures,
        )
        for r in b.reviews
    ]
    row = book.table(sheet, 2, ("日期", "类型", "参会", "结论", "措施"), rows)
    narrative = [(name, b.narrative[key]) for key, name in words.NARRATIVE]
    book.table(sheet, row, ("形势研判", "内容"), narrative)

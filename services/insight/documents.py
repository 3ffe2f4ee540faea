"""A briefing as a Word document (python-docx): the sections the contract lists, in the order
a leader reads them, each with its table and, where it helps, its chart."""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from services.insight import charts, domain, words
from services.insight.briefing import Briefing

_BODY_FONT, _HEADING_FONT = "宋体", "黑体"
_MOST = 30  # incidents listed in 处置情况: a leader reads the document in minutes


def _fonts(document: DocumentType) -> None:
    styles = {"Normal": _BODY_FONT, "Title": _HEADING_FONT}
    styles |= {f"Heading {n}": _HEADING_FONT for n in (1, 2)}
    for name, font in styles.items():
        style = document.styles[name]
        style.font.name = font
        style.element.rPr.rFonts.set(qn("w:eastAsia"), font)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
    document.styles["Normal"].font.size = Pt(11)


def _table(
    document: DocumentType,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
) -> None:
    """A table in small type, its columns `widths` centimetres wide."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = str(value)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)  # the grid LibreOffice reads; Word reads the cells'
    for row_ in table.rows:
        for cell, width in zip(row_.cells, widths, strict=True):
            cell.width = Cm(width)
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(9)
    document.add_paragraph()


def _chart(document: DocumentType, png: bytes) -> None:
    document.add_picture(io.BytesIO(png), width=Cm(13.5))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _heading(document: DocumentType, text: str) -> None:
    document.add_heading(text, level=1)


def render(b: Briefing) -> bytes:
    """The briefing as a .docx."""
    document = Document()
    _fonts(document)
    section = document.sections[0]
    section.left_margin = section.right_margin = Cm(2.5)
    _cover(document, b)
    _overview(document, b)
    _warnings(document, b)
    _handling(document, b)
    _timeliness(document, b)
    _monitoring(document, b)
    _reviews(document, b)
    _analysis(document, b)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _cover(document: DocumentType, b: Briefing) -> None:
    status = document.add_paragraph(b.status)
    status.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    title = document.add_heading(b.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for run in title.runs:
        run.font.size = Pt(18)
    subtitle = document.add_paragraph(b.subtitle)
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issuer = document.add_paragraph(
        f"{b.place}劳动关系领域风险监测预警工作领导小组办公室　　{domain.chinese_date(b.as_of)}"
    )
    issuer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if b.empty:
        document.add_paragraph(
            f"本期（{b.subtitle}）未收到风险信息，无风险事件，无应报送的预警通知。"
        )


def _overview(document: DocumentType, b: Briefing) -> None:
    _heading(document, "一、总体情况")
    s = b.stats
    levels = "，".join(
        f"{label}{s['incidents']['by_level'].get(code, 0)}起"
        for code, label in b.level_labels.items()
        if code != "none"
    )
    rate = s["notifications"]["on_time_rate"]
    document.add_paragraph(
        f"本期共受理劳动关系领域风险信息{s['reports']['total']}条，形成风险事件"
        f"{s['incidents']['total']}起（{levels}），涉及职工{s['incidents']['workers_involved']}人、"
        f"金额{domain.wan_yuan(s['incidents']['amount_yuan'])}；应报送预警通知"
        f"{s['notifications']['due']}件，按时报送率"
        f"{'—' if rate is None else f'{rate * 100:.1f}%'}；新立处置案件{s['cases']['opened']}件，"
        f"办结{s['cases']['closed']}件。"
    )
    _table(
        document,
        ("指标", "本期", "上期", "环比", "去年同期", "同比"),
        [
            (h.name, h.now, h.previous, h.change_previous, h.year_before, h.change_year)
            for h in b.headline
        ],
        (3.6, 2.0, 2.0, 3.0, 2.0, 3.0),
    )
    _chart(document, charts.levels_by_month(b))


def _warnings(document: DocumentType, b: Briefing) -> None:
    _heading(document, "二、预警情况")
    for name, rows in b.breakdowns.items():
        total = sum(count for _, count in rows)
        ordered = sorted(rows, key=lambda r: -r[1]) if name != "预警级别" else rows
        parts = "、".join(
            f"{label}{count}（{count / total * 100:.1f}%）" for label, count in ordered if count
        )
        unit = "条" if name == "信息来源" else "起"
        paragraph = document.add_paragraph()
        paragraph.add_run(f"按{name}：").bold = True
        paragraph.add_run(f"{parts}（单位：{unit}）。" if parts else "本期无。")
    if b.breakdowns["风险类别"]:
        _chart(document, charts.bars("风险事件类别分布", b.breakdowns["风险类别"]))
    if b.breakdowns["所在地区"]:
        _chart(document, charts.bars("风险事件地区分布", b.breakdowns["所在地区"]))


def _handling(document: DocumentType, b: Briefing) -> None:
    _heading(document, "三、处置情况")
    major = [i for i in b.incidents if i["top_rank"] >= 2]
    if not major:
        document.add_paragraph("本期无二级（黄色）及以上预警事件。")
        return
    if len(major) > _MOST:
        document.add_paragraph(
            f"本期二级（黄色）及以上预警事件{len(major)}起，下表列出最严重的{_MOST}起"
            "（级别从高到低、时间从早到晚），全部事件见同期Excel附表“事件清单”。"
        )
        major = major[:_MOST]
    rows = [
        (
            i["enterprise_name"] or "—",
            i["region_name"],
            i["top_label"] or "—",
            "已关闭" if i["status"] == "closed" else "处置中",
            i["unit"],
            words.name_of(words.CASE_STATUS, i["case_status"]) if i["case_status"] else "未立案",
        )
        for i in major
    ]
    _table(
        document,
        ("企业", "地区", "最高预警级别", "事件状态", "处置单位", "案件状态"),
        rows,
        (5.4, 1.6, 2.4, 1.8, 3.0, 1.8),
    )


def _timeliness(document: DocumentType, b: Briefing) -> None:
    _heading(document, "四、报送时效")
    n = b.stats["notifications"]
    document.add_paragraph(
        f"本期应报送{n['due']}件，按时{n['on_time']}件，超时或未报送{n['late']}件，尚未到期{n['open']}件。"
    )
    if b.on_time:
        _table(
            document,
            ("责任单位", "应报送", "按时", "超时", "按时率"),
            b.on_time,
            (6.0, 2.0, 2.0, 2.0, 2.0),
        )
        _chart(document, charts.on_time(b))


def _monitoring(document: DocumentType, b: Briefing) -> None:
    _heading(document, "五、定点监测情况")
    m = b.monitoring
    document.add_paragraph(
        f"本期定点监测企业发出警报涉及企业{m['enterprises']}家，未按期报送监测数据{m['missing']}次。"
    )
    if m["by_indicator"]:
        rows = [
            (words.name_of(words.INDICATORS, k), v) for k, v in sorted(m["by_indicator"].items())
        ]
        _table(document, ("监测指标", "警报数"), rows, (6.0, 3.0))


def _reviews(document: DocumentType, b: Briefing) -> None:
    _heading(document, "六、会商研判")
    if not b.reviews:
        document.add_paragraph("本期未召开研判会商会议。")
    for r in b.reviews:
        held = domain.chinese_date(domain.local_day(r.held_at, b.timezone))
        document.add_heading(f"{held}　{words.REVIEW_KINDS.get(r.kind, r.kind)}", level=2)
        document.add_paragraph(f"参会：{'、'.join(r.attendees) or '—'}")
        document.add_paragraph(f"结论：{r.conclusions}")
        document.add_paragraph(f"措施：{r.measures}")


def _analysis(document: DocumentType, b: Briefing) -> None:
    _heading(document, "七、形势研判")
    if b.reviews:
        document.add_paragraph(f"（参考最近一次会商结论：{b.reviews[-1].conclusions}）")
    for n, (key, name) in enumerate(words.NARRATIVE, start=1):
        document.add_heading(f"（{'一二三四'[n - 1]}）{name}", level=2)
        document.add_paragraph(b.narrative[key])

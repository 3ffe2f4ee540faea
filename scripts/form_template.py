"""Make the Word template of the warning-information form (预警信息情况表, seed 000's
attachment): `python -m scripts.form_template [path]` (default:
services/cases/templates/form.docx). The office may then adjust the template in Word: the
`{{ … }}` fields are what the system fills in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from services.cases.form import ROWS, TEMPLATE

BODY_FONT, TITLE_FONT = "仿宋", "方正小标宋简体"


def _font(
    paragraph: Paragraph,
    text: str,
    *,
    size: float,
    bold: bool = False,
    font: str = BODY_FONT,
    color: RGBColor | None = None,
) -> None:
    run = paragraph.add_run(text)
    run.font.size, run.font.bold, run.font.name = Pt(size), bold, font
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        run.font.color.rgb = color


def make(path: Path) -> None:
    """Write the template."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    section.top_margin = section.bottom_margin = Cm(2.5)
    section.left_margin = section.right_margin = Cm(2.6)
    draft = document.paragraphs[0] if document.paragraphs else document.add_paragraph()
    draft.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(draft, "{{ draft }}", size=14, bold=True, color=RGBColor(0xC0, 0, 0))
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(18)
    _font(title, "{{ title }}", size=20, font=TITLE_FONT, bold=True)
    unit = document.add_paragraph()
    _font(unit, "报告单位：{{ reporting_unit }}（盖章）", size=14)
    when = document.add_paragraph()
    when.paragraph_format.space_after = Pt(6)
    _font(when, "填报时间：{{ year }} 年 {{ month }} 月 {{ day }} 日", size=14)
    _table(document)
    for label, name in (
        ("负责人", "responsible_person"),
        ("填报人", "filer"),
        ("联系电话", "phone"),
    ):
        line = document.add_paragraph()
        line.paragraph_format.space_before = Pt(8)
        _font(line, f"{label}：{{{{ {name} }}}}", size=14)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def _table(document: Any) -> None:
    table = document.add_table(rows=1 + len(ROWS), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Cm(4.6), Cm(11.2))
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice and Word lay out by
    header = (("项目", "内容"),)
    rows = header + tuple((label, f"{{{{ {name} }}}}") for label, name in ROWS)
    for i, (label, value) in enumerate(rows):
        cells = table.rows[i].cells
        table.rows[i].height = Cm(1.0 if i == 0 else 1.2 if i in (1, 2) else 2.3)
        for cell, width, text in zip(cells, widths, (label, value), strict=True):
            cell.width = width
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = cell.paragraphs[0]
            if i == 0 or cell is cells[0]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(paragraph, text, size=12, bold=i == 0)


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE)

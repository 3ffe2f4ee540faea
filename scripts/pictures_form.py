"""Render the warning-information form to a picture for the README: `make pictures`
(`python -m scripts.pictures_form [out.png]`). A sample filed case of Xuan'en fills the
template; LibreOffice (headless) makes a PDF of the .docx, pdftoppm a PNG of its page."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from libs.common.jurisdictions import Registry
from services.cases.case import Case, Level
from services.cases.form import render_form

OUT = Path("docs/form.png")


def sample() -> Case:
    """A Xuan'en level-1 case with its form filed (made-up figures, no personal data)."""
    at = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    incident = {
        "id": "sample",
        "jurisdiction": "xuanen",
        "regions": ["zhushan"],
        "bodies": [],
        "event_key": "xuanen:sample",
        "facts": {
            "enterprise_name": "宣恩县某建筑劳务有限公司",
            "credit_code": "91422825MA4900000X",
            "industry": "建筑业",
            "category": "wage_arrears",
            "regions": ["zhushan"],
            "workers_involved": 60,
            "amount_yuan": "1200000",
            "terminations": 0,
            "collective_action": "possible",
            "opened_at": at.isoformat(),
        },
    }
    level = Level(
        "level1",
        "一级预警",
        1,
        "xuanen.zhushan.tripartite",
        "珠山镇协调劳动关系三方机制",
        at + dt.timedelta(hours=6),
    )
    case, _ = Case.open(id="sample", incident=incident, level=level, at=at, drill=False)
    form = {
        "reporting_unit": "珠山镇协调劳动关系三方机制",
        "warning_info": None,
        "cause_analysis": "企业承接的工程款未按期结算，资金链紧张，拖欠60名农民工三个月工资。",
        "situation_trend": "部分职工情绪激动，有聚集上访的可能；若工程款本月到位，事态可控。",
        "measures_effect": "镇三方机制已约谈企业负责人，联系总包单位协调工程款，职工情绪基本稳定。",
        "next_plan": "督促企业制定工资清偿计划并公示；劳动保障监察跟踪落实，每日报告进展。",
        "enterprise_info": None,
        "responsible_person": "（负责人）",
        "filer": "（填报人）",
        "phone": "0718-0000000",
    }
    filed = {k: v for k, v in form.items() if v is not None}
    case.file_form(filed, send_to=[], by="sample", at=at + dt.timedelta(hours=2))
    return case


def main(out: Path = OUT) -> None:
    """Write the picture."""
    registry = Registry.load()
    jurisdiction = registry.get("xuanen")
    assert jurisdiction is not None
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        sys.exit("needs LibreOffice (libreoffice-writer-nogui) and poppler-utils (pdftoppm)")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "form.docx").write_bytes(render_form(sample(), jurisdiction))
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{work}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(work / "form.docx"),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-singlefile",
                "-f",
                "1",
                str(work / "form.pdf"),
                str(work / "form"),
            ],
            check=True,
            timeout=60,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "form.png", out)
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)

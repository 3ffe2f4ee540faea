"""A department's monthly file as CSV (UTF-8 with and without BOM, GBK, semicolons) and as
an Excel workbook, on the embedded default and on PostgreSQL; the limits on rows and bytes."""

from __future__ import annotations

import io

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from services.monitoring.tables import observations
from tests.conftest import Running, assert_problem
from tests.integration.monitoring_support import clear_monitoring, code, month, register

HEADER = (
    "credit_code,period,headcount,wages_due_yuan,wages_paid_yuan,"
    "social_insurance_arrears_months,layoffs,disputes"
)
ZH_HEADER = "统一社会信用代码,月份,用工人数,应发工资,实发工资,社保欠缴月数,裁员人数,劳动争议件数"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def system(system: Running) -> Running:
    """The module's app with monitoring's tables emptied too."""
    await clear_monitoring(system)
    return system


async def post(lw: Running, data: bytes, content_type: str = CSV) -> httpx.Response:
    return await lw.client.post(
        "/v1/monitoring/observations",
        content=data,
        headers=lw.auth("reporter") | {"Content-Type": content_type},
    )


async def stored(lw: Running) -> int:
    async with lw.runtime.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(observations)) or 0)


def lines(c: str, *, sep: str = ",") -> str:
    return "\n".join(
        [
            HEADER.replace(",", sep),
            sep.join([c, month(2), "300", "1500000", "1500000", "0", "0", "0"]),
            sep.join([c, month(1), "300", "1500000", "1000000", "0", "0", "1"]),
        ]
    )


async def test_utf8_with_a_bom_and_an_unpaid_wage_alert(system: Running) -> None:
    c = code(11)
    await register(system, c)
    r = await post(system, b"\xef\xbb\xbf" + lines(c).encode())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == 2
    (alert,) = body["alerts"]
    assert (alert["indicator"], alert["value"]) == ("wages_unpaid", "500000")
    assert alert["reasons_zh"] == ["欠发工资 500000，占应发工资 1500000 的 33.3% ≥ 20%"]


async def test_gbk_with_chinese_headings_and_semicolons(system: Running) -> None:
    c, d = code(12), code(13)
    await register(system, c)
    await register(system, d)
    gbk = (ZH_HEADER + "\n" + lines(c).split("\n", 1)[1]).encode("gbk")
    r = await post(system, gbk)
    assert r.status_code == 202, r.text
    r = await post(system, lines(d, sep=";").encode())
    assert r.status_code == 202, r.text
    assert await stored(system) == 4


async def test_a_missing_column_and_a_bad_cell_are_named(system: Running) -> None:
    c = code(14)
    await register(system, c)
    text = lines(c).replace(",disputes", "").replace(",1\n", "\n")
    body = assert_problem(await post(system, text.encode()), 422)
    assert body["errors"][0]["loc"] == ["body", "header", "disputes"]
    bad = lines(c).replace("1000000", "abc")
    body = assert_problem(await post(system, bad.encode()), 422)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "wages_paid_yuan")]
    assert await stored(system) == 0


async def test_old_mac_line_ends_are_read_and_a_cell_csv_cannot_hold_is_named(
    system: Running,
) -> None:
    c = code(17)
    await register(system, c)
    r = await post(system, lines(c).replace("\n", "\r").encode())  # CR alone ends a line
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2
    d = code(18)
    await register(system, d)
    too_long = lines(d) + "\n" + d + ',"' + "x" * 200_000 + '"'
    body = assert_problem(await post(system, too_long.encode()), 422)
    assert body["errors"][0]["field"] == "csv" and body["errors"][0]["row"] == 4
    assert await stored(system) == 2


async def test_more_than_10000_rows_or_10_mb_is_413(system: Running) -> None:
    row = f"{code(15)},{month(1)},300,1500000,1500000,0,0,0"
    many = "\n".join([HEADER] + [row] * 10_001).encode()
    assert_problem(await post(system, many), 413)
    huge = HEADER.encode() + b"\n" + b"x" * (10 * 1024 * 1024)
    assert_problem(await post(system, huge), 413)
    # The JSON limit of other routes (1 MiB) does not hold for the monthly file.
    big = {"observations": [{"credit_code": code(16), "note": "x" * 100}] * 12_000}
    r = await system.client.post(
        "/v1/monitoring/observations", json=big, headers=system.auth("reporter")
    )
    assert_problem(r, 413)


async def test_an_excel_workbook(system: Running) -> None:
    c = code(17)
    await register(system, c)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append([c, month(2), 300, 1_500_000, 1_500_000, 0, 0, 0])
    sheet.append([c, month(1), 300, 1_500_000.0, 1_500_000.0, 4, 0, 0])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await post(system, buffer.getvalue(), XLSX)
    assert r.status_code == 202, r.text
    assert [a["indicator"] for a in r.json()["alerts"]] == ["social_insurance_arrears_months"]
    assert_problem(await post(system, b"not a workbook", XLSX), 422)

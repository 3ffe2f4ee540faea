"""A department's monthly file read into rows: JSON, CSV (UTF-8 with or without BOM, or GBK;
commas, semicolons or tabs) or an Excel workbook (.xlsx, its first sheet).

Every row is validated and every bad row and field is named at once: an upload is stored
whole or not at all (CONTRACT.md, "Monitored enterprises").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from libs.common.enterprise import is_valid_credit_code
from libs.common.problems import TYPE_BASE, Problem

MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024
COLUMNS = (
    "credit_code",
    "period",
    "headcount",
    "wages_due_yuan",
    "wages_paid_yuan",
    "social_insurance_arrears_months",
    "layoffs",
    "disputes",
)
# Column headings as a bureau's own spreadsheet may name them.
HEADINGS_ZH = {
    "统一社会信用代码": "credit_code",
    "月份": "period",
    "用工人数": "headcount",
    "应发工资": "wages_due_yuan",
    "实发工资": "wages_paid_yuan",
    "社保欠缴月数": "social_insurance_arrears_months",
    "裁员人数": "layoffs",
    "劳动争议件数": "disputes",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_People = Annotated[int, Field(ge=0, le=5_000_000)]  # more than any employer has
_Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), decimal_places=2)]


class ObservationIn(BaseModel):
    """One enterprise's figures for one month."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    credit_code: str = Field(min_length=18, max_length=18, examples=["91220101MA0XXXXXXX"])
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-10"])
    headcount: _People
    wages_due_yuan: _Yuan
    wages_paid_yuan: _Yuan
    social_insurance_arrears_months: int = Field(ge=0, le=600)
    layoffs: _People
    disputes: int = Field(ge=0, le=1_000_000)

    @field_validator("credit_code")
    @classmethod
    def _code(cls, code: str) -> str:
        if not is_valid_credit_code(code.upper()):
            raise ValueError("not a valid unified social credit code (check character)")
        return code.upper()

    @model_validator(mode="after")
    def _consistent(self) -> ObservationIn:
        if self.wages_paid_yuan > self.wages_due_yuan:
            raise ValueError("wages_paid_yuan: wages paid exceed wages due")
        return self


class ObservationsIn(BaseModel):
    """`POST /v1/monitoring/observations` as JSON."""

    model_config = ConfigDict(extra="forbid")

    observations: list[dict[str, Any]] = Field(max_length=MAX_ROWS + 1)


@dataclass(frozen=True)
class Row:
    """A valid row and where it was in the upload (a JSON index, or a file's line)."""

    where: tuple[Any, ...]
    line: int
    obs: ObservationIn


def error(where: Sequence[Any], line: int, field: str, msg: str) -> dict[str, Any]:
    """One bad field, as the 422 lists it."""
    return {"loc": [*where, field], "row": line, "field": field, "msg": msg, "type": "value_error"}


def invalid(errors: list[dict[str, Any]]) -> Problem:
    """The 422 naming every bad row and field, in the upload's order."""
    errors = sorted(errors, key=lambda e: e["row"])
    first = errors[0]
    return Problem(
        422,
        f"{len(errors)} error(s); first: row {first['row']}, {first['field']}: {first['msg']}",
        type_=TYPE_BASE + "validation-error",
        title="Validation failed",
        errors=errors,
    )


def too_many(rows: int) -> Problem:
    """The 413 of an upload over the row limit."""
    return Problem(413, f"{rows} rows: an upload holds at most {MAX_ROWS}")


def validate(
    raw: Iterable[tuple[tuple[Any, ...], int, dict[str, Any]]],
) -> tuple[list[Row], list[dict[str, Any]]]:
    """Validate every row: the valid ones, and an error for each bad field of the others."""
    rows: list[Row] = []
    errors: list[dict[str, Any]] = []
    for where, line, values in raw:
        try:
            rows.append(Row(where, line, ObservationIn.model_validate(values)))
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                msg = str(e["msg"]).removeprefix("Value error, ")
                if e["loc"]:
                    field = str(e["loc"][0])
                else:  # a rule across fields names its field first
                    field, _, msg = msg.partition(": ")
                errors.append(error(where, line, field, msg))
    return rows, errors


def from_json(body: ObservationsIn) -> list[tuple[tuple[Any, ...], int, dict[str, Any]]]:
    """The rows of a JSON upload: `body.observations[i]`, row i + 1."""
    if len(body.observations) > MAX_ROWS:
        raise too_many(len(body.observations))
    return [(("body", "observations", i), i + 1, v) for i, v in enumerate(body.observations)]


def decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (a BOM dropped), else GBK (GB 18030, its superset)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise Problem(415, "a CSV file must be UTF-8 or GBK text") from exc


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _columns(header: Sequence[Any]) -> list[str | None]:
    """Each heading as a column name (None for a column of no interest); 422 for a missing
    column."""
    names: list[str | None] = []
    for cell in header:
        text = str(cell or "").strip().lower()
        name = HEADINGS_ZH.get(text, text)
        names.append(name if name in COLUMNS else None)
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise invalid([error(("body", "header"), 1, c, "missing column") for c in missing])
    return names


def _table(
    lines: Iterable[Sequence[Any]], header: Sequence[Any]
) -> list[tuple[tuple[Any, ...], int, dict[str, Any]]]:
    names = _columns(header)
    rows = []
    for line, cells in enumerate(lines, start=2):
        if not any(str(c if c is not None else "").strip() for c in cells):
            continue  # a blank line
        values = {n: _cell(c) for n, c in zip(names, cells, strict=False) if n is not None}
        rows.append((("body", "row", line), line, values))
        if len(rows) > MAX_ROWS:
            raise too_many(len(rows))
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.year:04d}-{value.month:02d}"  # a month Excel took for a date
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def from_csv(data: bytes) -> list[tuple[tuple[Any, ...], int, dict[str, Any]]]:
    """The rows of a CSV file; the header (line 1) names the columns."""
    text = decode(data)
    first = next(iter(text.splitlines()), "")
    # newline="": a line may end in CR, LF or both, and a quoted cell may hold a line break.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    try:
        header = next(reader, None)
        if header is None:
            raise invalid([error(("body", "header"), 1, c, "missing column") for c in COLUMNS])
        return _table(reader, header)
    except csv.Error as exc:  # a cell the CSV format cannot hold (one too long, say)
        line = max(reader.line_num, 1)
        raise invalid([error(("body", "row", line), line, "csv", f"not CSV: {exc}")]) from exc


def from_xlsx(data: bytes) -> list[tuple[tuple[Any, ...], int, dict[str, Any]]]:
    """The rows of a workbook's first sheet; its first row names the columns."""
    import openpyxl  # only an Excel upload pays for the import

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise Problem(422, f"not a readable .xlsx workbook: {type(exc).__name__}") from exc
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None) or ()
        return _table(rows, header)
    finally:
        book.close()

"""How a report is shown: in a response (personal data masked, or in clear for a reveal), and
in the event that announces it (no personal data at all)."""

from __future__ import annotations

from typing import Any

import orjson

from libs.common.contracts import FIGURE_NAMES, ReportReceived
from libs.common.privacy import Cipher, mask_name, mask_phone, open_text, redact, seal_text
from services.intake.domain import ReportRow
from services.intake.schemas import (
    EnterpriseOut,
    PersonInClear,
    PersonOut,
    ReportOut,
    RevealedReport,
)

SEALED_PERSON = "intake_reports.reporter"  # the cipher's context of `reporter_sealed`
SEALED_EXTRA = "intake_reports.extra"  # … and of a work order's own fields
# Free text holds callers' phones and identity numbers as often as not: sealed like the reporter
# (the context of each is `intake_reports.<column>`).
SEALED_TEXTS = ("summary", "demands", "location")


def seal_texts(cipher: Cipher, row: dict[str, Any]) -> dict[str, Any]:
    """The row as stored: its free text sealed."""
    return row | {
        name: seal_text(cipher, row[name], context=f"intake_reports.{name}")
        for name in SEALED_TEXTS
    }


def _opened(cipher: Cipher, row: ReportRow, name: str) -> str | None:
    text = open_text(cipher, row[name], context=f"intake_reports.{name}")
    return redact(text) if text else text


def seal_person(cipher: Cipher, name: str | None, phone: str | None) -> str | None:
    """A reporter's or caller's name and phone, encrypted; None if neither is given."""
    if not name and not phone:
        return None
    return cipher.encrypt(
        orjson.dumps({"name": name, "phone": phone}).decode(), context=SEALED_PERSON
    )


def seal_extra(cipher: Cipher, extra: dict[str, Any] | None) -> str | None:
    """A work order's fields of the platform's own, encrypted; None if there are none."""
    if not extra:
        return None
    return cipher.encrypt(orjson.dumps(extra).decode(), context=SEALED_EXTRA)


def _person(cipher: Cipher, row: ReportRow) -> dict[str, Any] | None:
    sealed = row["reporter_sealed"]
    if sealed is None:
        return None
    person: dict[str, Any] = orjson.loads(cipher.decrypt(sealed, context=SEALED_PERSON))
    return person


def report_out(row: ReportRow, cipher: Cipher) -> ReportOut:
    """A report for a response, personal data masked."""
    person = _person(cipher, row)
    reporter = None
    if person is not None:
        reporter = PersonOut(
            name=mask_name(person["name"]) if person.get("name") else None,
            phone=mask_phone(person["phone"]) if person.get("phone") else None,
        )
    return ReportOut(**_fields(row, cipher), reporter=reporter)


def revealed_report(row: ReportRow, cipher: Cipher) -> RevealedReport:
    """A report with its personal data in clear, for calling the caller back."""
    person = _person(cipher, row)
    reporter = None
    if person is not None:
        reporter = PersonInClear(name=person.get("name"), phone=person.get("phone"))
    return RevealedReport(**_fields(row, cipher), reporter=reporter)


# A report's fields that responses and its event show as they are stored.
_AS_STORED = (
    "id",
    "channel",
    "source",
    "source_ref",
    "jurisdiction",
    "region",
    "affected_regions",
    "occurred_at",
    "received_at",
)


def _fields(row: ReportRow, cipher: Cipher) -> dict[str, Any]:
    """Every field of a response but the reporter."""
    return {
        **{name: row[name] for name in _AS_STORED},
        "enterprise": EnterpriseOut(
            name=row["enterprise_name"],
            credit_code=row["enterprise_credit_code"],
            industry=row["enterprise_industry"],
        ),
        "category": row["category"],
        "category_text": row["category_text"],
        **_figures(row),
        **{name: _opened(cipher, row, name) for name in SEALED_TEXTS},
        "incident_id": row["incident_id"],
        "level": row["level"],
        "level_label": row["level_label"],
        "incident_status": row["incident_status"],
    }


def _figures(row: ReportRow) -> dict[str, Any]:
    """The report's figures (each of `FIGURE_NAMES`), as stored: one column each."""
    return {name: row[name] for name in FIGURE_NAMES}


def report_received(row: ReportRow, *, drill: bool) -> ReportReceived:
    """`report.received` of a new report: every figure, no personal data."""
    # Validated from a plain dict in one call: pydantic-core does that three times faster than
    # `model_construct` assembles the same models in Python (measured, pydantic 2.14).
    return ReportReceived.model_validate(
        {
            "report": {
                **{name: row[name] for name in _AS_STORED},
                "enterprise": {
                    "name": row["enterprise_name"],
                    "credit_code": row["enterprise_credit_code"],
                    "industry": row["enterprise_industry"],
                },
                "category": row["category"],
                "category_text": row["category_text"],
                **_figures(row),
                "summary": _redacted(row["summary"]),
                "demands": _redacted(row["demands"]),
                "location": _redacted(row["location"]),
                "drill": drill,
            }
        }
    )


def _redacted(text: str | None) -> str | None:
    return redact(text) if text else text

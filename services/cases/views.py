"""How a case is shown: to the API (`CaseOut`) and in its events (`CaseData`), free text
masked (phone and identity numbers), phone fields masked whole."""

from __future__ import annotations

from typing import Any

from libs.common.contracts import CaseData
from libs.common.privacy import mask_phone, redact
from services.cases.case import Case
from services.cases.domain import Rules, allowed_now
from services.cases.schemas import CaseOut


def masked(value: Any, key: str | None = None) -> Any:
    """A value with personal data masked: every text redacted, a `phone` masked whole."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return mask_phone(value) if key == "phone" else redact(value)
    return value


def fields(case: Case) -> dict[str, Any]:
    """The fields a case shows, masked."""
    content = masked(case.content)
    return {
        "id": case.id,
        "incident_id": case.incident_id,
        "jurisdiction": case.jurisdiction,
        "level": case.level,
        "level_label": case.level_label,
        "level_rank": case.level_rank,
        "responsible_body": {"body_id": case.responsible_body, "name": case.responsible_name},
        "status": case.status.value,
        **content,
        "regions": case.regions,
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
        "drill": case.drill,
    }


def out_of(case: Case, rules: Rules) -> CaseOut:
    """A case as the API shows it, with the steps it allows now."""
    allowed = [a.value for a in allowed_now(case.state, rules)]
    # The enterprise as the incident's warning named it (the console's list shows it).
    named = {"enterprise_name": case.facts.get("enterprise_name")}
    return CaseOut.model_validate(fields(case) | named | {"allowed_steps": allowed})


def data_of(case: Case) -> CaseData:
    """A case as its events carry it (the form's free text left out by the model)."""
    return CaseData.model_validate(fields(case))

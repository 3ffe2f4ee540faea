"""处置 in the console: which of a case's steps the signed-in user may take now, and how each
step's form becomes the API's body. Pure: the registry is data, nothing here calls anything.

The API decides (CONTRACT.md, "Incident lifecycle and cases", "Who may act"); this only spares
a user the forms of steps the API would refuse: a responder of the responsible body, of a
non-external body above it or of the policy's assessors acts on the case; the plan's handling
unit also records progress; the approver body decides on the plan and also reports to the
government; only the responsible body files the form; an admin takes every step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from libs.common.jurisdictions import Registry

# The steps as the console shows them, in the order one takes them; the government report's
# three stages are one form.
STEPS = ("plan", "approval", "progress", "government_report", "form", "close")


@dataclass(frozen=True)
class Step:
    """How a step reaches the API: its method, its path under the case, its body."""

    method: str
    path: str
    body: Callable[[Mapping[str, str]], dict[str, Any]]


def _given(form: Mapping[str, str], *names: str) -> dict[str, Any]:
    """The named fields the user filled in (a blank one is left out: the API says what is
    missing, next to its field)."""
    return {n: form[n].strip() for n in names if (form.get(n) or "").strip()}


def _plan(form: Mapping[str, str]) -> dict[str, Any]:
    body = _given(form, "summary", "handling_unit", "lead", "phone")
    measures = [m.strip() for m in (form.get("measures") or "").splitlines() if m.strip()]
    if measures:
        body["measures"] = measures
    return body


STEP_CALLS: dict[str, Step] = {
    "plan": Step("PUT", "plan", _plan),
    "approval": Step("POST", "approval", lambda f: _given(f, "decision", "note")),
    "progress": Step(
        "POST",
        "progress",
        lambda f: _given(f, "measures_taken", "effect", "situation", "next_steps"),
    ),
    "government_report": Step(
        "POST", "government-reports", lambda f: _given(f, "stage", "content")
    ),
    "close": Step("POST", "close", lambda f: _given(f, "resolution", "outcome")),
    "form": Step(
        "PUT",
        "form",
        lambda f: _given(
            f,
            "reporting_unit",
            "warning_info",
            "cause_analysis",
            "situation_trend",
            "measures_effect",
            "next_plan",
            "enterprise_info",
            "responsible_person",
            "filer",
            "phone",
        ),
    ),
}


def above(registry: Registry, body_id: str) -> set[str]:
    """The bodies above one in its escalation chain, external ones left out."""
    found, seen = registry.body(body_id), set[str]()
    while found is not None and found[1].parent and found[1].parent not in seen:
        jurisdiction, body = found[0], found[0].bodies_by_id[found[1].parent]
        if not body.external:
            seen.add(body.id)
        found = (jurisdiction, body)
    return seen


def rules(registry: Registry, case: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The level's approver body and government body (None where the policy names none)."""
    found = registry.get(case["jurisdiction"])
    if found is None or case.get("level") is None:
        return None, None
    rule = found.cases.rule(case["level"])
    return rule.approver, rule.government


def _assessors(registry: Registry, jurisdiction: str) -> set[str]:
    found = registry.get(jurisdiction)
    extra = (found.policy.model_extra or {}) if found else {}
    return set(extra.get("assessors") or ())


def stages(case: Mapping[str, Any]) -> list[str]:
    """The government report's stages the case allows now (before/during/after)."""
    prefix = "government_report:"
    return [s[len(prefix) :] for s in case["allowed_steps"] if s.startswith(prefix)]


def steps_for(
    role: str, body_id: str | None, case: Mapping[str, Any], registry: Registry
) -> set[str]:
    """The steps (of STEPS) the user may take on the case now."""
    allowed = {s.split(":")[0] for s in case["allowed_steps"]}
    if role == "admin":
        return allowed
    if role != "responder" or body_id is None:
        return set()
    found = registry.body(body_id)
    if found is None or found[1].external:
        return set()
    responsible = case["responsible_body"]["body_id"]
    actors = {responsible} | above(registry, responsible)
    actors |= _assessors(registry, case["jurisdiction"])
    approver, _ = rules(registry, case)
    unit = ((case.get("plan") or {}).get("handling_unit") or {}).get("body_id")
    who = {
        "plan": actors,
        "approval": {approver},
        "progress": actors | {unit},
        "government_report": actors | {approver},
        "form": {responsible},
        "close": actors,
    }
    return {step for step in allowed if body_id in who.get(step, set())}


def handling_units(registry: Registry, jurisdiction: str) -> list[tuple[str, str]]:
    """The bodies of the jurisdiction a plan may name as its handling unit (预警处置单位),
    external ones left out: (id, name)."""
    found = registry.get(jurisdiction)
    if found is None:
        return []
    return [(b.id, b.name) for b in found.bodies if not b.external]

"""The API's steps: who may take each (CONTRACT.md: the responsible body, a non-external body
above it, the policy's assessors; the plan's handling unit for progress; the approver body for
government reports and approval; or an admin), and what it does to the case."""

from __future__ import annotations

from typing import Any

from libs.common.auth import Principal
from libs.common.problems import Problem
from services.cases.case import Case, Step
from services.cases.domain import Resolution, Rules
from services.cases.schemas import (
    ApprovalIn,
    CaseOut,
    CloseIn,
    FormIn,
    GovernmentReportIn,
    PlanIn,
    ProgressIn,
)
from services.cases.service import Cases

_MAY_NOT = "only a responder of the case's body, of a body above it, or of the leading group"


def _responder(principal: Principal) -> str | None:
    return None if principal.external else principal.body_id


async def plan(cases: Cases, case_id: str, body: PlanIn, principal: Principal) -> CaseOut:
    """The disposal plan; its handling unit must be a body of the case's jurisdiction."""

    def may(case: Case, rules: Rules) -> bool:
        return _responder(principal) in cases.actors(case)

    def do(case: Case, rules: Rules, by: str) -> Step:
        unit = body.handling_unit or case.responsible_body
        found = cases.registry.body(unit)
        if found is None or found[0].id != case.jurisdiction:
            raise _unprocessable("handling_unit", f"{unit} is not a body of {case.jurisdiction}")
        plan = body.model_dump() | {"handling_unit": cases.body_ref(unit)}
        step = case.submit_plan(plan, by=by, at=cases.clock.now(), rules=rules)
        case.bodies = sorted(set(case.bodies) | {unit})
        return step

    return await cases.act(case_id, principal, may, do, why=f"{_MAY_NOT} submits its plan")


async def approval(cases: Cases, case_id: str, body: ApprovalIn, principal: Principal) -> CaseOut:
    """The approver's decision: the approver body's responder, not the plan's submitter."""

    def may(case: Case, rules: Rules) -> bool:
        return rules.approver is not None and _responder(principal) == rules.approver

    def do(case: Case, rules: Rules, by: str) -> Step:
        if case.plan is not None and case.plan["submitted_by"] == by:
            raise Problem(403, "the plan's submitter may not approve it")
        return case.decide(body.decision, body.note, by=by, at=cases.clock.now())

    why = "only a responder of the level's approver body (or an admin) decides on the plan"
    return await cases.act(case_id, principal, may, do, why=why)


async def progress(cases: Cases, case_id: str, body: ProgressIn, principal: Principal) -> CaseOut:
    """A progress entry: also by the plan's handling unit."""

    def may(case: Case, rules: Rules) -> bool:
        unit = case.plan["handling_unit"]["body_id"] if case.plan else None
        return _responder(principal) in cases.actors(case) | {unit}

    def do(case: Case, rules: Rules, by: str) -> Step:
        return case.add_progress(body.model_dump(), by=by, at=cases.clock.now(), rules=rules)

    why = f"{_MAY_NOT}, or of the plan's handling unit, records progress"
    return await cases.act(case_id, principal, may, do, why=why)


async def government_report(
    cases: Cases, case_id: str, body: GovernmentReportIn, principal: Principal
) -> CaseOut:
    """A report to the level's government body: also by the approver body."""

    def may(case: Case, rules: Rules) -> bool:
        return _responder(principal) in cases.actors(case) | {rules.approver}

    def do(case: Case, rules: Rules, by: str) -> Step:
        to = cases.body_ref(rules.government) if rules.government else {}
        step = case.report(
            body.stage, body.content, to=to, by=by, at=cases.clock.now(), rules=rules
        )
        case.bodies = sorted(set(case.bodies) | {to["body_id"]})
        return step

    why = f"{_MAY_NOT}, or of the approver body, reports to the government"
    return await cases.act(case_id, principal, may, do, why=why)


async def form(cases: Cases, case_id: str, body: FormIn, principal: Principal) -> CaseOut:
    """File the warning-information form: the responsible body's responder, or an admin on
    its behalf (代填)."""

    def may(case: Case, rules: Rules) -> bool:
        return _responder(principal) == case.responsible_body

    def do(case: Case, rules: Rules, by: str) -> Step:
        filed: dict[str, Any] = body.model_dump()
        filed["reporting_unit"] = filed["reporting_unit"] or case.responsible_name
        if principal.body_id != case.responsible_body:
            by = f"{by}（代{case.responsible_name}填报）"
        found = cases.registry.get(case.jurisdiction)
        send_to = found.cases.rule(case.level).form_to if found else ()
        refs = [cases.body_ref(b) for b in send_to]
        return case.file_form(filed, send_to=refs, by=by, at=cases.clock.now())

    why = "only a responder of the case's responsible body (or an admin) files its form"
    return await cases.act(case_id, principal, may, do, why=why)


async def close(cases: Cases, case_id: str, body: CloseIn, principal: Principal) -> CaseOut:
    """Close the case; the incident closes with it."""

    def may(case: Case, rules: Rules) -> bool:
        return _responder(principal) in cases.actors(case)

    def do(case: Case, rules: Rules, by: str) -> Step:
        resolution = Resolution(body.resolution)
        return case.close(resolution, body.outcome, by=by, at=cases.clock.now(), rules=rules)

    return await cases.act(case_id, principal, may, do, why=f"{_MAY_NOT} closes the case")


def _unprocessable(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"{field}: {message}",
        type_="https://laborwatch.org/problems/validation-error",
        title="Validation failed",
        errors=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )

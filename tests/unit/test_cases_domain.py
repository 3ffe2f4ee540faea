"""The case's state machine and aggregate, alone (no database, no clock)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from libs.common.jurisdictions import Registry, RegistryError
from services.cases.case import Case, Level
from services.cases.domain import (
    Act,
    Illegal,
    Resolution,
    Rules,
    State,
    Status,
    after_level_change,
    allowed_now,
    check,
    check_close,
)

RED = Rules(approver="changchun.director", government="changchun.city_government")
PLAIN = Rules()
AT = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
PLAN = {
    "summary": "约谈企业",
    "measures": ["约谈"],
    "handling_unit": {"body_id": "changchun.leading_group", "name": "领导小组"},
    "lead": "王五",
    "phone": "0431-1234567",
}


def a_case(level: str = "red", due: dt.datetime | None = None) -> Case:
    incident = {
        "id": "i1",
        "jurisdiction": "changchun",
        "regions": ["chaoyang"],
        "bodies": [],
        "event_key": "k",
        "facts": {"enterprise_name": "某公司"},
    }
    lvl = Level(level, "一级红色预警", 3, "changchun.leading_group", "领导小组", due)
    case, step = Case.open(id="c1", incident=incident, level=lvl, at=AT, drill=False)
    assert step.step == "opened"
    return case


def test_an_open_case_allows_a_plan_but_no_approval_and_says_what_is_allowed() -> None:
    state = State(Status.OPEN)
    assert Act.APPROVAL not in allowed_now(state, RED)
    with pytest.raises(Illegal) as refused:
        check(Act.APPROVAL, state, RED)
    assert "allowed now: plan, progress, form, government_report:before, close" in str(
        refused.value
    )


def test_a_closed_case_allows_only_the_after_report_where_there_is_a_government() -> None:
    assert allowed_now(State(Status.CLOSED), RED) == [Act.REPORT_AFTER]
    assert allowed_now(State(Status.CLOSED), PLAIN) == []
    with pytest.raises(Illegal, match="no government body"):
        check(Act.REPORT_BEFORE, State(Status.OPEN), PLAIN)


def test_during_needs_an_approved_plan_and_resolved_needs_one_at_a_red_level() -> None:
    assert Act.REPORT_DURING not in allowed_now(State(Status.AWAITING_APPROVAL), RED)
    assert Act.REPORT_DURING in allowed_now(State(Status.RESPONDING, approved=True), RED)
    with pytest.raises(Illegal, match="approved plan"):
        check_close(Resolution.RESOLVED, State(Status.OPEN), RED)
    check_close(Resolution.NO_RISK, State(Status.OPEN), RED)
    check_close(Resolution.RESOLVED, State(Status.RESPONDING), PLAIN)


def test_rising_into_a_level_that_needs_approval_waits_for_it_again() -> None:
    responding = State(Status.RESPONDING, approved=False)
    assert after_level_change(responding, PLAIN, RED).status is Status.AWAITING_APPROVAL
    assert after_level_change(responding, RED, PLAIN) == responding
    closed = State(Status.CLOSED)
    assert after_level_change(closed, PLAIN, RED) == closed


def test_the_red_walk_plan_return_revise_approve_close() -> None:
    case = a_case()
    case.submit_plan(PLAN, by="a", at=AT, rules=RED)
    assert case.status is Status.AWAITING_APPROVAL
    case.decide("return", "再议", by="d", at=AT)
    assert case.state == State(Status.OPEN, approved=False)
    revised = case.submit_plan(PLAN, by="a", at=AT, rules=RED)
    assert "修订" in revised.summary_zh and case.content["approval"] is None
    case.decide("approve", None, by="d", at=AT)
    assert case.state == State(Status.RESPONDING, approved=True)
    case.report("during", "处置中", to={"body_id": "x", "name": "市政府"}, by="a", at=AT, rules=RED)
    step = case.close(Resolution.RESOLVED, "结清", by="a", at=AT, rules=RED)
    assert step.step == "closed" and case.state == State(Status.CLOSED, approved=True)
    assert case.closed_at == AT
    with pytest.raises(Illegal):
        case.add_progress({"measures_taken": "x"}, by="a", at=AT, rules=RED)


def test_the_first_filing_at_a_level_decides_whether_it_was_on_time() -> None:
    case = a_case(due=AT + dt.timedelta(hours=1))
    case.file_form({"reporting_unit": "u"}, send_to=[], by="a", at=AT + dt.timedelta(hours=2))
    assert case.content["form"]["on_time"] is False
    case.file_form({"reporting_unit": "u"}, send_to=[], by="a", at=AT)
    assert case.content["form"]["on_time"] is False  # a later filing does not mend it
    untimed = a_case(due=None)
    untimed.file_form({"reporting_unit": "u"}, send_to=[], by="a", at=AT)
    assert untimed.content["form"]["on_time"] is None


def test_the_built_in_case_policies() -> None:
    registry = Registry.load()
    changchun, xuanen = registry.get("changchun"), registry.get("xuanen")
    assert changchun is not None and xuanen is not None
    red = changchun.cases.rule("red")
    assert (red.approver, red.government) == ("changchun.director", "changchun.city_government")
    assert changchun.cases.rule("yellow").approver is None
    assert xuanen.cases.rule("level1").form_to == ("xuanen.county.tripartite",)
    assert xuanen.cases.rule("level2").form_to == ("xuanen.prefecture.tripartite",)
    assert changchun.cases.title(changchun.name) == "长春市劳动关系领域风险监测预警信息表"
    members = [b for b in changchun.bodies if b.id.startswith("changchun.member.")]
    assert len(members) == 11 and all(b.parent == "changchun.leading_group" for b in members)


def test_a_case_policy_naming_an_unknown_body_or_level_is_refused(tmp_path: Path) -> None:
    base = """\
id: enshi
name: 恩施州
policy:
  id: enshi-2024
  levels:
    - {id: orange, label: 橙色预警, rank: 1}
regions:
  - {id: lichuan, name: 利川市}
bodies:
  - {id: enshi.bureau, name: 州人社局}
"""
    for cases, message in (
        ("cases:\n  levels:\n    - {level: orange, approver: enshi.nobody}\n", "unknown body"),
        ("cases:\n  levels:\n    - {level: red}\n", "not a level"),
    ):
        (tmp_path / "enshi.yaml").write_text(base + cases, encoding="utf-8")
        with pytest.raises(RegistryError, match=message):
            Registry.load(tmp_path)

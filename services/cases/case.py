"""The `Case` aggregate: one incident's disposal, from its first warning to its closure. Each
method checks the state machine (`domain`), changes the case and returns the `Step` it took,
for the case's revisions, its event and the incident's timeline. Pure: the store reads and
writes, the service asks. `content` holds what is sealed at rest (plan, approval, progress,
government reports, the form, the closure), in the published shape (`CaseData`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.cases.domain import (
    Act,
    Resolution,
    Rules,
    State,
    Status,
    after_decision,
    after_level_change,
    after_plan,
    check,
    check_close,
)

_STAGE_ZH = {"before": "事前", "during": "事中", "after": "事后"}
_RESOLUTION_ZH = {"resolved": "已化解", "no_risk": "无风险", "transferred": "已移交"}


@dataclass(frozen=True)
class Step:
    """One step of a case: what it was, when, by whom, a line for the timeline, its detail."""

    step: str  # contracts.cases.CaseStep
    at: dt.datetime
    by: str
    summary_zh: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Level:
    """A warning level as a case follows it."""

    level: str | None
    label: str | None
    rank: int
    body_id: str
    body_name: str
    due_at: dt.datetime | None


def _iso(at: dt.datetime) -> str:
    return at.isoformat()


@dataclass
class Case:
    """A case. `content` is sealed at rest; the rest is what lists filter on."""

    id: str
    incident_id: str
    jurisdiction: str
    level: str | None
    level_label: str | None
    level_rank: int
    responsible_body: str
    responsible_name: str
    status: Status
    opened_at: dt.datetime
    updated_at: dt.datetime
    drill: bool
    regions: list[str]
    bodies: list[str]
    event_key: str
    facts: dict[str, Any]  # the incident's structured fields (the form's draft comes from them)
    dues: dict[str, str] = field(default_factory=dict)  # level -> the notification's due_at
    on_time: dict[str, bool | None] = field(default_factory=dict)  # level -> first filing's
    content: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    closed_at: dt.datetime | None = None

    # ---------------------------------------------------------------------- reading

    @property
    def approved(self) -> bool:
        """Say whether the latest plan is approved."""
        approval: dict[str, Any] | None = self.content.get("approval")
        return approval is not None and approval["decision"] == "approved"

    @property
    def state(self) -> State:
        """What the state machine looks at."""
        return State(self.status, approved=self.approved)

    @property
    def plan(self) -> dict[str, Any] | None:
        """The latest plan."""
        plan: dict[str, Any] | None = self.content.get("plan")
        return plan

    # ---------------------------------------------------------------------- opening

    @classmethod
    def open(
        cls, *, id: str, incident: dict[str, Any], level: Level, at: dt.datetime, drill: bool
    ) -> tuple[Case, Step]:
        """A case for an incident's first warning level."""
        case = cls(
            id=id,
            incident_id=incident["id"],
            jurisdiction=incident["jurisdiction"],
            level=level.level,
            level_label=level.label,
            level_rank=level.rank,
            responsible_body=level.body_id,
            responsible_name=level.body_name,
            status=Status.OPEN,
            opened_at=at,
            updated_at=at,
            drill=drill,
            regions=list(incident["regions"]),
            bodies=list(incident["bodies"]),
            event_key=incident["event_key"],
            facts=incident["facts"],
            content={
                "plan": None,
                "approval": None,
                "progress": [],
                "government_reports": [],
                "form": None,
                "closed": None,
            },
        )
        if level.level and level.due_at:
            case.dues[level.level] = _iso(level.due_at)
        summary = f"处置案件已立案（{level.label or level.level}，{level.body_name}）"
        return case, Step("opened", at, "system", summary, {"level": level.level})

    def follow(
        self, level: Level, *, old: Rules, new: Rules, incident: dict[str, Any], at: dt.datetime
    ) -> Step | None:
        """The incident's level or routing changed: follow it (None if nothing changed)."""
        if level.level and level.due_at and level.level not in self.dues:
            self.dues[level.level] = _iso(level.due_at)
        self.regions, self.bodies = list(incident["regions"]), list(incident["bodies"])
        self.facts = incident["facts"]
        if self.status is Status.CLOSED:
            return None
        same = (level.level, level.body_id) == (self.level, self.responsible_body)
        if same:
            return None
        before = self.level_label or "无"
        self.level, self.level_label, self.level_rank = level.level, level.label, level.rank
        self.responsible_body, self.responsible_name = level.body_id, level.body_name
        state = after_level_change(self.state, old, new)
        if not state.approved and self.approved:
            self.content["approval"] = None
        self.status, self.updated_at = state.status, at
        summary = f"预警级别变更：{before} → {level.label or '解除'}（{level.body_name}）"
        detail = {"level": level.level, "responsible_body": level.body_id}
        return Step("rerouted", at, "system", summary, detail)

    # ------------------------------------------------------------------------ acts

    def submit_plan(self, plan: dict[str, Any], *, by: str, at: dt.datetime, rules: Rules) -> Step:
        """The disposal plan (处置预案), or a revision of it."""
        check(Act.PLAN, self.state, rules)
        revised = self.plan is not None
        self.content["plan"] = {**plan, "submitted_at": _iso(at), "submitted_by": by}
        self.content["approval"] = None
        self.status, self.updated_at = after_plan(rules), at
        unit = plan["handling_unit"]["name"]
        summary = f"处置预案已{'修订' if revised else '提交'}（处置单位：{unit}）"
        return Step("plan_submitted", at, by, summary, {"plan": self.content["plan"]})

    def decide(self, decision: str, note: str | None, *, by: str, at: dt.datetime) -> Step:
        """The approver's decision on the latest plan (报局长审定)."""
        check(Act.APPROVAL, self.state, Rules(approver="any"))
        word = "approved" if decision == "approve" else "returned"
        self.content["approval"] = {"decision": word, "note": note, "at": _iso(at), "by": by}
        self.status, self.updated_at = after_decision(decision), at
        summary = "处置预案已审定同意" if word == "approved" else "处置预案被退回修改"
        return Step(word, at, by, summary, {"approval": self.content["approval"]})

    def add_progress(
        self, entry: dict[str, Any], *, by: str, at: dt.datetime, rules: Rules
    ) -> Step:
        """One progress entry of the response."""
        check(Act.PROGRESS, self.state, rules)
        made = {"at": _iso(at), "by": by, **entry}
        self.content["progress"].append(made)
        self.updated_at = at
        return Step("progress", at, by, "处置进展已记录", {"progress": made})

    def report(
        self, stage: str, text: str, *, to: dict[str, str], by: str, at: dt.datetime, rules: Rules
    ) -> Step:
        """A written report to the government body (市政府专报)."""
        check(Act(f"government_report:{stage}"), self.state, rules)
        made = {"stage": stage, "content": text, "at": _iso(at), "by": by, "to_body": to}
        self.content["government_reports"].append(made)
        self.updated_at = at
        summary = f"已向{to['name']}书面报告（{_STAGE_ZH[stage]}）"
        return Step("government_report", at, by, summary, {"government_report": made})

    def file_form(
        self, form: dict[str, Any], *, send_to: list[dict[str, str]], by: str, at: dt.datetime
    ) -> Step:
        """The warning-information form (预警信息情况表); the first filing at a level says
        whether the level's report was on time (before its notification's due_at)."""
        check(Act.FORM, self.state, Rules())
        level = self.level or ""
        if level not in self.on_time:
            due = self.dues.get(level)
            self.on_time[level] = None if due is None else at <= dt.datetime.fromisoformat(due)
        filed = {
            **form,
            "enterprise_name": self.facts.get("enterprise_name"),
            "level": self.level,
            "level_label": self.level_label,
            "filed_at": _iso(at),
            "filed_by": by,
            "on_time": self.on_time[level],
            "due_at": self.dues.get(level),
            "send_to": send_to,
        }
        self.content["form"] = filed
        self.updated_at = at
        late = {True: "按时", False: "迟报", None: "无时限"}[self.on_time[level]]
        summary = f"预警信息情况表已报送（{self.level_label or '无级别'}，{late}）"
        return Step("form_filed", at, by, summary, {"form": filed})

    def close(
        self, resolution: Resolution, outcome: str | None, *, by: str, at: dt.datetime, rules: Rules
    ) -> Step:
        """Close the case: the incident closes with it."""
        check_close(resolution, self.state, rules)
        made = {"at": _iso(at), "by": by, "resolution": resolution.value, "outcome": outcome}
        self.content["closed"] = made
        self.status, self.updated_at, self.closed_at = Status.CLOSED, at, at
        summary = f"处置案件已结案（{_RESOLUTION_ZH[resolution.value]}）"
        return Step("closed", at, by, summary, {"closed": made})

"""The case's state machine (CONTRACT.md, "Incident lifecycle and cases"): which step is
allowed in which state, under the level's rules. Pure: no I/O, no clock.

    open ──plan──▶ awaiting_approval ──approve──▶ responding ──close──▶ closed
      ▲  └─plan (no approval needed)──────────────▲   │
      └──────────────return──┘                          └─ rising into a level that needs
                                                          approval → awaiting_approval
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    """Where a case stands."""

    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    RESPONDING = "responding"
    CLOSED = "closed"


class Act(enum.StrEnum):
    """What someone may do to a case (the API's steps)."""

    PLAN = "plan"
    APPROVAL = "approval"
    PROGRESS = "progress"
    REPORT_BEFORE = "government_report:before"
    REPORT_DURING = "government_report:during"
    REPORT_AFTER = "government_report:after"
    FORM = "form"
    CLOSE = "close"


class Resolution(enum.StrEnum):
    """How a case closed."""

    RESOLVED = "resolved"
    NO_RISK = "no_risk"
    TRANSFERRED = "transferred"


@dataclass(frozen=True)
class Rules:
    """The level's case rules, as the jurisdiction's policy gives them."""

    approver: str | None = None  # the body that approves the plan; None: no approval
    government: str | None = None  # the government body reports go to; None: none

    @property
    def needs_approval(self) -> bool:
        """Say whether the level's plan needs approval."""
        return self.approver is not None


@dataclass(frozen=True)
class State:
    """What the state machine looks at: the status, and whether the latest plan is approved."""

    status: Status
    approved: bool = False


class Illegal(Exception):
    """A step the case's state does not allow now (409); `allowed` are those it does."""

    def __init__(self, message: str, allowed: list[Act]) -> None:
        allowed_text = ", ".join(a.value for a in allowed) or "none (the case is closed)"
        super().__init__(f"{message}; allowed now: {allowed_text}")
        self.allowed = allowed


def allowed_now(state: State, rules: Rules) -> list[Act]:
    """The steps the case allows in its state, in the order one takes them."""
    if state.status is Status.CLOSED:
        return [Act.REPORT_AFTER] if rules.government else []
    acts = [Act.PLAN]
    if state.status is Status.AWAITING_APPROVAL:
        acts.append(Act.APPROVAL)
    acts += [Act.PROGRESS, Act.FORM]
    if rules.government:
        acts.append(Act.REPORT_BEFORE)
        if state.approved:
            acts.append(Act.REPORT_DURING)
    acts.append(Act.CLOSE)
    return acts


def check(act: Act, state: State, rules: Rules) -> None:
    """Raise `Illegal` unless the act is allowed now."""
    allowed = allowed_now(state, rules)
    if act in allowed:
        return
    if act.value.startswith("government_report") and not rules.government:
        raise Illegal("the policy names no government body for this level", allowed)
    raise Illegal(f"{act.value} is not allowed while the case is {state.status.value}", allowed)


def after_plan(rules: Rules) -> Status:
    """The status a (revised) plan leads to."""
    return Status.AWAITING_APPROVAL if rules.needs_approval else Status.RESPONDING


def after_decision(decision: str) -> Status:
    """The status the approver's decision leads to: approve → responding, return → open."""
    return Status.RESPONDING if decision == "approve" else Status.OPEN


def check_close(resolution: Resolution, state: State, rules: Rules) -> None:
    """A case at a level that needs approval closes as resolved only with an approved plan."""
    check(Act.CLOSE, state, rules)
    if resolution is Resolution.RESOLVED and rules.needs_approval and not state.approved:
        raise Illegal(
            "this level closes as resolved only with an approved plan",
            [a for a in allowed_now(state, rules) if a is not Act.CLOSE],
        )


def after_level_change(state: State, old: Rules, new: Rules) -> State:
    """A level change: rising into a level that needs approval while responding waits for
    approval again (the plan is approved again); anything else keeps the status."""
    if state.status is Status.CLOSED:
        return state
    if new.needs_approval and new.approver != old.approver and state.status is Status.RESPONDING:
        return State(Status.AWAITING_APPROVAL, approved=False)
    if new.needs_approval and new.approver != old.approver:
        return State(state.status, approved=False)
    return state

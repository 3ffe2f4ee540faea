"""Grading's domain words, as enums: what an incident is, where it stands, what happened."""

from __future__ import annotations

import enum


class Category(enum.StrEnum):
    """A report's (and an incident's) category, as the contract names it."""

    LABOR_CONTRACT = "labor_contract"
    WAGE_ARREARS = "wage_arrears"
    LABOR_DISPATCH = "labor_dispatch"
    HR_OUTSOURCING = "hr_outsourcing"
    WORK_INJURY = "work_injury"
    RETIREMENT = "retirement"
    PUBLIC_OPINION = "public_opinion"
    SOCIAL_INSURANCE = "social_insurance"
    WORKING_HOURS = "working_hours"
    REST_LEAVE = "rest_leave"
    COLLECTIVE_CONTRACT = "collective_contract"
    LAYOFF = "layoff"
    OTHER = "other"


class CollectiveAction(enum.StrEnum):
    """A mass incident or collective stoppage (群体性事件或集体停工): none, possible, occurred."""

    NONE = "none"
    POSSIBLE = "possible"
    OCCURRED = "occurred"

    @property
    def order(self) -> int:
        """How far it has gone: none < possible < occurred."""
        return list(CollectiveAction).index(self)


class IncidentKind(enum.StrEnum):
    """One enterprise's dispute, or a Xuan'en county cluster of several (县域多发)."""

    SINGLE = "single"
    CLUSTER = "cluster"


class IncidentStatus(enum.StrEnum):
    """An open incident gathers reports; a closed one gathers nothing more."""

    OPEN = "open"
    CLOSED = "closed"


class Decision(enum.StrEnum):
    """The leading group's assessment (领导小组评估): confirm the level, or set another."""

    CONFIRM = "confirm"
    SET_LEVEL = "set_level"


class Entry(enum.StrEnum):
    """The kinds of timeline entries grading writes itself (the notifier's are
    `notification_<kind>`)."""

    OPENED = "opened"
    REPORT_ADDED = "report_added"
    LEVEL_RAISED = "level_raised"
    MEMBERS_ADDED = "members_added"
    CLOSED = "closed"
    ASSESSMENT_CONFIRMED = "assessment_confirmed"
    LEVEL_SET_BY_ASSESSMENT = "level_set_by_assessment"
    REPORT_REVEALED = "report_revealed"


# Who acted, for entries no person made.
POLICY = "policy"
INTAKE = "intake"
NOTIFIER = "notifier"

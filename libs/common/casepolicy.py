"""A jurisdiction's rules for cases (处置): which level needs whose approval, which level
reports to which government body, where a filed warning-information form goes, and the form's
title. The `cases` section of the jurisdiction's YAML, parsed with the registry
(`libs.common.jurisdictions`), checked there against its bodies and levels."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CaseLevelRule(BaseModel):
    """The case rules of one warning level."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str
    # The body whose responder approves the plan (报局长审定); None: no approval.
    approver: str | None = None
    # The government body reports go to (市政府专报); None: no government report.
    government: str | None = None
    # The bodies the filed form goes to (宣恩: level 1 → county, level 2 → prefecture).
    form_to: tuple[str, ...] = ()


class CasePolicy(BaseModel):
    """The `cases` section of a jurisdiction file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The form's title; None: `{jurisdiction name}劳动关系领域风险监测预警信息表`.
    form_title: str | None = Field(default=None, max_length=100)
    levels: tuple[CaseLevelRule, ...] = ()

    def rule(self, level: str | None) -> CaseLevelRule:
        """The rules of a level (none of them for a level the section does not name)."""
        for rule in self.levels:
            if rule.level == level:
                return rule
        return CaseLevelRule(level=level or "")

    def bodies(self) -> list[tuple[str, str]]:
        """Every body the section names, with where (for checking against the registry)."""
        named: list[tuple[str, str]] = []
        for rule in self.levels:
            for where, body in (("approver", rule.approver), ("government", rule.government)):
                if body is not None:
                    named.append((f"cases.levels.{rule.level}.{where}", body))
            named += [(f"cases.levels.{rule.level}.form_to", b) for b in rule.form_to]
        return named

    def title(self, jurisdiction_name: str) -> str:
        """The form's title."""
        return self.form_title or f"{jurisdiction_name}劳动关系领域风险监测预警信息表"

"""Warning policies as data: the `policy` section of each jurisdiction file, validated.

A condition names its bound explicitly (Civil Code art. 1259): `at_least` is 以上 (the number
itself included, ≥), `more_than` is 超过 (excluded, >).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from libs.common.jurisdictions import BUILT_IN_DIR, Jurisdiction, Registry
from services.grading.words import CollectiveAction

Figure = Literal["workers_involved", "amount_yuan", "terminations", "regions_affected"]
Flag = Literal["extreme_individual", "potential_major_impact"]

FIGURE_LABELS: Mapping[str, tuple[str, str]] = {
    # figure: (Chinese label, unit)
    "workers_involved": ("涉及人数", "人"),
    "amount_yuan": ("涉案金额", "元"),
    "terminations": ("解除劳动关系", "人"),
    "regions_affected": ("涉及乡镇（区域）", "个"),
}
FLAG_LABELS: Mapping[str, str] = {
    "extreme_individual": "极端个体事件",
    "potential_major_impact": "评估可能造成重大影响",
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Threshold(_Strict):
    """A figure against a bound: `at_least` (≥, 以上) or `more_than` (>, 超过)."""

    figure: Figure
    at_least: Decimal | None = Field(default=None, ge=0)
    more_than: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if (self.at_least is None) == (self.more_than is None):
            raise ValueError("give exactly one of at_least (≥) or more_than (>)")
        return self


class FlagCondition(_Strict):
    """A yes/no judgement on the report (extreme individual act, potential major impact)."""

    flag: Flag


class AllOf(_Strict):
    """Every condition must hold."""

    all: tuple[Condition, ...] = Field(min_length=1)


def _condition_kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return "all" if "all" in raw else "flag" if "flag" in raw else "threshold"
    return (
        "all"
        if isinstance(raw, AllOf)
        else "flag"
        if isinstance(raw, FlagCondition)
        else "threshold"
    )


# Told apart by their keys, so that an error names the condition it is about.
Condition = Annotated[
    Annotated[Threshold, Tag("threshold")]
    | Annotated[FlagCondition, Tag("flag")]
    | Annotated[AllOf, Tag("all")],
    Discriminator(_condition_kind),
]
AllOf.model_rebuild()


class EachAffectedRegion(_Strict):
    """A copy to one body per affected region other than the incident's own (whose body the
    route names): `{each_affected_region: xuanen.{region}.tripartite}`."""

    each_affected_region: str


# A copy: a body id (`{region}` stands for the incident's region), or one per affected region.
Copy = str | EachAffectedRegion


class LevelRule(_Strict):
    """A warning level: when it fires, whom it goes to, how soon they must report."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    rank: int = Field(ge=1)
    when: tuple[Condition, ...] = Field(min_length=1, description="fires if any holds")
    route: str = Field(description="a body id; `{region}` stands for the incident's region")
    copies: tuple[Copy, ...] = Field(default=(), description="bodies that get a copy")
    limit: dt.timedelta = Field(
        gt=dt.timedelta(0), description="reporting limit, ISO 8601 duration (PT6H)"
    )


class ClusterRule(_Strict):
    """Incidents with collective action across regions within a window form one cluster."""

    within: dt.timedelta = Field(gt=dt.timedelta(0))
    min_incidents: int = Field(ge=2)
    min_regions: int = Field(ge=2)
    min_workers: int = Field(ge=0)
    level: str


class Gate(_Strict):
    """What an incident must show before any level applies."""

    collective_action: tuple[CollectiveAction, ...] = Field(min_length=1)


class Policy(_Strict):
    """A jurisdiction's warning policy."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    categories: Literal["all"] | tuple[str, ...] = "all"
    requires: Gate | None = None
    provisional: bool = False
    levels: tuple[LevelRule, ...] = Field(min_length=1)
    cluster: ClusterRule | None = None
    assessors: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        ids = [lvl.id for lvl in self.levels]
        ranks = [lvl.rank for lvl in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError("level ids must be unique")
        if len(set(ranks)) != len(ranks):
            raise ValueError("level ranks must be unique")
        if self.cluster is not None and self.cluster.level not in ids:
            raise ValueError(f"cluster.level {self.cluster.level!r} is not a level")
        return self

    def level(self, level_id: str) -> LevelRule:
        """Return a level by id."""
        for lvl in self.levels:
            if lvl.id == level_id:
                return lvl
        raise KeyError(level_id)

    @property
    def by_severity(self) -> tuple[LevelRule, ...]:
        """The levels, most severe first."""
        return tuple(sorted(self.levels, key=lambda lvl: -lvl.rank))

    def in_scope(self, category: str) -> bool:
        """Say whether a category gets automatic levels."""
        return self.categories == "all" or category in self.categories


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the file and the line."""


def check_against(policy: Policy, jurisdiction: Jurisdiction) -> list[str]:
    """Return what in the policy does not match the jurisdiction's bodies and regions."""
    return [message for _, message in _mismatches(policy, jurisdiction)]


def _mismatches(policy: Policy, jurisdiction: Jurisdiction) -> list[tuple[tuple[Any, ...], str]]:
    """Each mismatch with where it is in the file (a path under `policy`)."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    bodies = jurisdiction.bodies_by_id
    regions = sorted(jurisdiction.region_ids)
    for i, lvl in enumerate(policy.levels):
        for body in _every_body(lvl.route, regions):
            if body not in bodies:
                problems.append((("levels", i, "route"), f"levels.{lvl.id}: unknown body {body}"))
        for j, copy in enumerate(lvl.copies):
            pattern = copy if isinstance(copy, str) else copy.each_affected_region
            for body in _every_body(pattern, regions):
                if body not in bodies:
                    problems.append(
                        (("levels", i, "copies", j), f"levels.{lvl.id}: unknown body {body}")
                    )
    for j, body in enumerate(policy.assessors):
        if body not in bodies:
            problems.append((("assessors", j), f"assessors: unknown body {body}"))
    return problems


def _every_body(pattern: str, regions: list[str]) -> list[str]:
    """The bodies a route or copy may name: one per region where it says `{region}`."""
    if "{region}" not in pattern:
        return [pattern]
    return [pattern.replace("{region}", r) for r in regions]


def load_policies(registry: Registry, directory: Path | None = None) -> dict[str, Policy]:
    """Validate every jurisdiction's policy section; map jurisdiction id to its policy."""
    directory = directory or BUILT_IN_DIR
    files = {
        path: yaml.compose(path.read_text(encoding="utf-8"))
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    }
    policies: dict[str, Policy] = {}
    for jurisdiction in registry:
        path, root = _file_of(files, jurisdiction.id)
        raw = yaml.safe_load(path.read_text(encoding="utf-8")).get("policy")
        try:
            policy = Policy.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ("policy", *first["loc"])
            raise PolicyError(
                f"{path}:{_line(root, loc)}: {'.'.join(map(str, loc))}: {first['msg']}"
            ) from exc
        problems = _mismatches(policy, jurisdiction)
        if problems:
            where, _ = problems[0]
            raise PolicyError(
                f"{path}:{_line(root, ('policy', *where))}: "
                f"{'; '.join(message for _, message in problems)}"
            )
        policies[jurisdiction.id] = policy
    return policies


def _file_of(files: Mapping[Path, Any], jurisdiction_id: str) -> tuple[Path, Any]:
    for path, root in files.items():
        for key, value in getattr(root, "value", []):
            if key.value == "id" and value.value == jurisdiction_id:
                return path, root
    raise PolicyError(f"no file defines jurisdiction {jurisdiction_id}")


def _line(node: Any, loc: Iterable[Any]) -> int:
    """Find the 1-based line of the deepest YAML node on the path that exists."""
    line = int(node.start_mark.line) + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = int(node.start_mark.line) + 1
    return line

"""The registry of jurisdictions: regions and bodies, one YAML file each.

The `policy` section of a file (levels, rules, routing, limits) belongs to grading, which
validates it; here only its id and levels are read, for listing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from libs.common.casepolicy import CasePolicy

BUILT_IN_DIR = Path(__file__).with_name("jurisdictions")

_ID = r"^[a-z][a-z0-9_]*$"


class Region(BaseModel):
    """A region of a jurisdiction (a township, a district)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    name: str


class Body(BaseModel):
    """A responsible body; `parent` is the next body up for escalation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    name: str
    parent: str | None = None
    region: str | None = None
    external: bool = False


class LevelRef(BaseModel):
    """A warning level as the registry lists it."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=_ID)
    label: str
    rank: int = Field(ge=1)


class PolicyRef(BaseModel):
    """The policy section: its id and levels; the rest is grading's to read."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    levels: tuple[LevelRef, ...] = ()


class Jurisdiction(BaseModel):
    """A jurisdiction: its regions, bodies and policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    name: str
    timezone: str = "Asia/Shanghai"
    policy: PolicyRef
    regions: tuple[Region, ...] = Field(min_length=1)
    bodies: tuple[Body, ...] = Field(min_length=1)
    # The monitoring section (thresholds of monitored enterprises' figures): the monitoring
    # service's to validate, as the policy is grading's.
    monitoring: dict[str, Any] | None = None
    cases: CasePolicy = CasePolicy()

    @model_validator(mode="after")
    def _consistent(self) -> Jurisdiction:
        region_ids = [r.id for r in self.regions]
        body_ids = [b.id for b in self.bodies]
        for kind, ids in (("region", region_ids), ("body", body_ids)):
            dupes = {i for i in ids if ids.count(i) > 1}
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {sorted(dupes)}")
        for body in self.bodies:
            if not body.id.startswith(self.id + "."):
                raise ValueError(f"body {body.id} must start with '{self.id}.'")
            if body.parent is not None and body.parent not in body_ids:
                raise ValueError(f"body {body.id} has unknown parent {body.parent}")
            if body.region is not None and body.region not in region_ids:
                raise ValueError(f"body {body.id} has unknown region {body.region}")
        _check_cases(self.cases, body_ids, [level.id for level in self.policy.levels])
        return self

    @cached_property
    def region_ids(self) -> frozenset[str]:
        """Ids of the jurisdiction's regions."""
        return frozenset(r.id for r in self.regions)

    @cached_property
    def bodies_by_id(self) -> Mapping[str, Body]:
        """The jurisdiction's bodies by id."""
        return {b.id: b for b in self.bodies}


def _check_cases(cases: CasePolicy, body_ids: list[str], level_ids: list[str]) -> None:
    for where, body in cases.bodies():
        if body not in body_ids:
            raise ValueError(f"{where}: unknown body {body}")
    for rule in cases.levels:
        if rule.level not in level_ids:
            raise ValueError(f"cases.levels: {rule.level!r} is not a level of the policy")


class RegistryError(ValueError):
    """A jurisdiction file that cannot be used; the message names the file."""


class Registry:
    """All jurisdictions a process knows, by id."""

    def __init__(self, jurisdictions: Iterable[Jurisdiction]) -> None:
        self._by_id: dict[str, Jurisdiction] = {}
        for j in jurisdictions:
            if j.id in self._by_id:
                raise RegistryError(f"jurisdiction {j.id!r} is defined twice")
            self._by_id[j.id] = j

    @classmethod
    def load(cls, directory: Path | None = None) -> Registry:
        """Load every `*.yaml` file of the directory (default: the built-in ones)."""
        directory = directory or BUILT_IN_DIR
        files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
        if not files:
            raise RegistryError(f"no jurisdiction files (*.yaml) in {directory}")
        return cls(load_file(path) for path in files)

    def __iter__(self) -> Any:
        return iter(self._by_id.values())

    def get(self, jurisdiction_id: str) -> Jurisdiction | None:
        """Return the jurisdiction, or None."""
        return self._by_id.get(jurisdiction_id)

    def ids(self) -> list[str]:
        """List the jurisdiction ids."""
        return sorted(self._by_id)

    def body(self, body_id: str) -> tuple[Jurisdiction, Body] | None:
        """Find a body and its jurisdiction by the body's id."""
        for j in self._by_id.values():
            if body_id in j.bodies_by_id:
                return j, j.bodies_by_id[body_id]
        return None


def load_file(path: Path) -> Jurisdiction:
    """Load and validate one jurisdiction file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Jurisdiction.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise RegistryError(f"{path}: {problems}") from exc

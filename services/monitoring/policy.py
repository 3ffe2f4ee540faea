"""Monitoring policy as data: the `monitoring` section of each jurisdiction file, validated.

The numbers are the contract's (CONTRACT.md, "Monitored enterprises"); a jurisdiction's file
may set others, and a file without the section gets these defaults.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from libs.common.jurisdictions import Registry


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Thresholds(_Strict):
    """触线警报: the lines an enterprise's figures must not reach (以上 includes the bound)."""

    unpaid_wages_share: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    social_insurance_arrears_months: int = Field(default=3, ge=1)
    layoffs: int = Field(default=20, ge=1)
    layoffs_share: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    headcount_drop_share: Decimal = Field(default=Decimal("0.30"), gt=0, le=1)


class AnomalyRule(_Strict):
    """数据异动: how far a value may depart from the enterprise's own latest observations."""

    min_history: int = Field(default=6, ge=2)
    max_history: int = Field(default=24, ge=2)
    z: Decimal = Field(default=Decimal("3.5"), gt=0)
    flat_change_share: Decimal = Field(default=Decimal("0.20"), gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> AnomalyRule:
        if self.max_history < self.min_history:
            raise ValueError("max_history must be at least min_history")
        return self


class MonitoringPolicy(_Strict):
    """A jurisdiction's monitoring policy."""

    thresholds: Thresholds = Thresholds()
    anomaly: AnomalyRule = AnomalyRule()
    missing_day: int = Field(default=5, ge=1, le=28)  # figures due by the end of this day


class MonitoringPolicyError(ValueError):
    """A monitoring section that cannot be used; the message names the jurisdiction."""


def load_monitoring_policies(registry: Registry) -> dict[str, MonitoringPolicy]:
    """Validate each jurisdiction's monitoring section; map jurisdiction id to its policy."""
    policies: dict[str, MonitoringPolicy] = {}
    for jurisdiction in registry:
        try:
            policies[jurisdiction.id] = MonitoringPolicy.model_validate(
                jurisdiction.monitoring or {}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("monitoring", *first["loc"]))
            raise MonitoringPolicyError(
                f"jurisdiction {jurisdiction.id}: {where}: {first['msg']}"
            ) from exc
    return policies

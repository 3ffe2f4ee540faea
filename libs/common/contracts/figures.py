"""The figures of a report, in one place: what a report gives and an incident holds.

A policy grades these (DESIGN.md); a new figure is added here, then to the tables (one column
per figure) and to the rules that read it. Code that only copies the figures from one object
to another does so by `FIGURE_NAMES`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

CollectiveAction = Literal["none", "possible", "occurred"]


class ReportFigures(BaseModel):
    """The six figures, as the contract gives them (CONTRACT.md, "Reports").

    A base of the models that carry them: it sets no config, so each keeps its own
    (`frozen`, `extra`)."""

    workers_involved: int = Field(ge=0)
    amount_yuan: Decimal = Field(ge=0)  # a number or a decimal string
    terminations: int = Field(ge=0, description="employment relations ended")
    collective_action: CollectiveAction = Field(description="mass incident or collective stoppage")
    extreme_individual: bool
    potential_major_impact: bool


FIGURE_NAMES: tuple[str, ...] = tuple(ReportFigures.model_fields)
"""The figures' names, in the contract's order."""

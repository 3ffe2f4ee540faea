"""The briefing routes (filled in by the briefing module)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from services.insight.service import Insight


def routes(api: APIRouter, insight: Insight) -> None:
    """Add the briefing routes."""

"""Intake's background loop: personal data erased once its retention period is over.

It keeps no state of its own: each turn looks in the database for reports whose incident
closed longer ago than the retention, so a restart loses nothing and replicas share the work.
"""

from __future__ import annotations

import logging

from libs.common.clock import Clock
from libs.common.workers import Worker, polling
from services.intake.handlers import Intake

log = logging.getLogger(__name__)


def retention_poll_seconds(retention_days: float) -> float:
    """How often to look: a tenth of the retention, between a second and an hour."""
    return min(max(retention_days * 86_400 / 10, 1.0), 3600.0)


def personal_data_retention(intake: Intake, *, retention_days: float, clock: Clock) -> Worker:
    """The loop that erases reporters' and callers' personal data past its retention."""

    async def turn() -> int:
        erased = await intake.erase_expired(retention_days=retention_days, now=clock.now())
        if erased:
            log.info("personal data erased", extra={"reports": erased})
        return erased

    return polling(
        "personal_data_retention", turn, poll_seconds=retention_poll_seconds(retention_days)
    )

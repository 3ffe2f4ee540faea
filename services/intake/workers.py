"""Intake's background loop: personal data erased once its retention period is over.

It keeps no state of its own: each turn looks in the database for reports whose incident
closed longer ago than the retention, so a restart loses nothing and replicas share the work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from libs.common.clock import Clock
from services.intake.handlers import Intake

log = logging.getLogger(__name__)


def retention_poll_seconds(retention_days: float) -> float:
    """How often to look: a tenth of the retention, between a second and an hour."""
    return min(max(retention_days * 86_400 / 10, 1.0), 3600.0)


def personal_data_retention(
    intake: Intake, *, retention_days: float, clock: Clock
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop that erases reporters' and callers' personal data past its retention."""
    poll = retention_poll_seconds(retention_days)

    async def run() -> None:
        while True:
            try:
                erased = await intake.erase_expired(retention_days=retention_days, now=clock.now())
                if erased:
                    log.info("personal data erased", extra={"reports": erased})
                    continue  # there may be another batch due now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("personal data retention failed; retrying", exc_info=True)
            await asyncio.sleep(poll)

    run.__name__ = "personal_data_retention"
    return run

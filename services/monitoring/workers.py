"""Monitoring's background loop: the `missing` timer.

Each enterprise's next month to check and the time its figures are late live in its register
row; a turn claims the enterprises that are due (FOR UPDATE SKIP LOCKED on PostgreSQL), so a
restart loses nothing and several replicas raise each alert once.
"""

from __future__ import annotations

import logging

from libs.common.clock import Clock
from libs.common.workers import Worker, polling
from services.monitoring.service import Monitoring

log = logging.getLogger(__name__)


def missing_timer(monitoring: Monitoring, *, clock: Clock, poll_seconds: float = 30.0) -> Worker:
    """The loop that raises `missing` alerts for months whose figures are past due."""

    async def turn() -> int:
        fired = await monitoring.fire_missing(now=clock.now())
        if fired:
            log.info("missing returns checked", extra={"enterprises": fired})
        return fired

    return polling("monitoring_missing_timer", turn, poll_seconds=poll_seconds)

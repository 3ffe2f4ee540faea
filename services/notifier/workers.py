"""The notifier's background loops: the deadline clock and the delivery queue.

Both keep their state in the database, so a restart picks up exactly where the last process
stopped, and several replicas share the work without doing any of it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from services.notifier import deadlines, delivery, operations
from services.notifier.domain import Status
from services.notifier.metrics import NOTIFICATIONS
from services.notifier.service import Notifier

log = logging.getLogger(__name__)


def deadline_clock(
    notifier: Notifier, *, poll_seconds: float, gauge_seconds: float = 10.0
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop that fires deadlines and reminders, and keeps the gauges current."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        gauges_due = loop.time()
        while True:
            try:
                fired = await deadlines.fire_deadlines(notifier)
                reminded = await deadlines.send_reminders(notifier)
                # By the clock, not by the turn: a busy clock turns many times a second, and
                # counting scans every notification.
                if loop.time() >= gauges_due:
                    counts = await operations.counts(notifier)
                    for status in Status:
                        NOTIFICATIONS.labels(status).set(counts.get(status, 0))
                    gauges_due = loop.time() + gauge_seconds
                if fired or reminded:
                    continue  # there may be more due right now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("deadline clock failed; retrying", exc_info=True)
            await asyncio.sleep(poll_seconds)

    run.__name__ = "deadline_clock"
    return run


def delivery_queue(
    notifier: Notifier, *, poll_seconds: float
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop that sends what is due and retries what failed; it never holds up the clock."""

    async def run() -> None:
        while True:
            try:
                if await delivery.deliver_due(notifier):
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("delivery queue failed; retrying", exc_info=True)
            await asyncio.sleep(poll_seconds)

    run.__name__ = "delivery_queue"
    return run

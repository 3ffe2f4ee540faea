"""The notifier's background loops: the deadline clock and the delivery queue.

Both keep their state in the database, so a restart picks up exactly where the last process
stopped, and several replicas share the work without doing any of it twice.
"""

from __future__ import annotations

import asyncio

from libs.common.workers import Worker, polling
from services.notifier import deadlines, delivery, operations
from services.notifier.domain import Status
from services.notifier.metrics import NOTIFICATIONS
from services.notifier.service import Notifier


def deadline_clock(
    notifier: Notifier, *, poll_seconds: float, gauge_seconds: float = 10.0
) -> Worker:
    """The loop that fires deadlines and reminders, and keeps the gauges current."""
    gauges_due = 0.0

    async def turn() -> bool:
        nonlocal gauges_due
        fired = await deadlines.fire_deadlines(notifier)
        reminded = await deadlines.send_reminders(notifier)
        # By the clock, not by the turn: a busy clock turns many times a second, and counting
        # scans every notification.
        now = asyncio.get_running_loop().time()
        if now >= gauges_due:
            counts = await operations.counts(notifier)
            for status in Status:
                NOTIFICATIONS.labels(status).set(counts.get(status, 0))
            gauges_due = now + gauge_seconds
        return bool(fired or reminded)

    return polling("deadline_clock", turn, poll_seconds=poll_seconds)


def delivery_queue(notifier: Notifier, *, poll_seconds: float) -> Worker:
    """The loop that sends what is due and retries what failed; it never holds up the clock."""

    async def turn() -> int:
        return await delivery.deliver_due(notifier)

    return polling("delivery_queue", turn, poll_seconds=poll_seconds)

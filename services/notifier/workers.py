"""The notifier's background loops: the deadline clock and the delivery queue.

Both keep their state in the database, so a restart picks up exactly where the last process
stopped, and several replicas share the work without doing any of it twice.
"""

from __future__ import annotations

import asyncio
import logging

from libs.common.workers import Claim, Worker, polling
from services.notifier import deadlines, delivery, operations
from services.notifier.domain import Status
from services.notifier.metrics import NOTIFICATIONS
from services.notifier.service import Notifier
from services.notifier.tables import Delivery

log = logging.getLogger(__name__)


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


class DeliveryQueue:
    """Sends what is due, each delivery in a task of its own, at most `in_flight` at once: a
    body whose webhook hangs until its timeout holds up no other body's warning."""

    def __init__(self, notifier: Notifier, *, in_flight: int) -> None:
        self.notifier = notifier
        self.in_flight = in_flight
        self.sending: dict[asyncio.Task[None], int] = {}
        self.claim: Claim[list[Delivery]] = Claim()
        self.wake = asyncio.Event()

    async def turn(self) -> int:
        """Claim as much as there is room for and start sending it; return how much."""
        room = self.in_flight - len(self.sending)
        if room <= 0:
            return 0
        claimed = await self.claim.run(delivery.claim_due(self.notifier, limit=room))
        for one in claimed:
            task = asyncio.create_task(delivery.attempt(self.notifier, one))
            self.sending[task] = one.id
            task.add_done_callback(self._ended)
        return len(claimed)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.sending.pop(task, None)
        self.wake.set()

    async def stop(self) -> None:
        """Cut short what is in flight and make it due again for whoever runs next."""
        cut = dict(self.sending)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        unsent = set(cut.values()) | {one.id for one in await self.claim.stop() or []}
        try:
            await delivery.hand_back(self.notifier, unsent)
        except Exception:
            log.warning("could not hand back the deliveries in flight", exc_info=True)


def delivery_queue(notifier: Notifier, *, poll_seconds: float, in_flight: int = 32) -> Worker:
    """The loop that sends what is due and retries what failed; it never holds up the clock.
    It turns again at once while it finds work, when a send ends, or after the poll."""
    queue = DeliveryQueue(notifier, in_flight=in_flight)
    return polling(
        "delivery_queue",
        queue.turn,
        poll_seconds=poll_seconds,
        wake=queue.wake,
        on_stop=queue.stop,
    )

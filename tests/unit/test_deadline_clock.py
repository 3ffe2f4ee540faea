"""The deadline clock's loop: it fires while there is work, and counts by the clock."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY

from services.notifier import deadlines, operations
from services.notifier.service import Notifier
from services.notifier.workers import deadline_clock


class BusyNotifier:
    """Always a batch of deadlines due: the clock never rests."""

    def __init__(self) -> None:
        self.fired = 0
        self.counted = 0

    async def fire_deadlines(self, notifier: Any) -> int:
        self.fired += 1
        await asyncio.sleep(0.001)
        return 500

    async def send_reminders(self, notifier: Any) -> int:
        return 0

    async def counts(self, notifier: Any) -> dict[str, int]:
        self.counted += 1
        return {"pending": 7, "overdue": 3}


async def test_a_busy_clock_counts_notifications_by_time_not_by_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = BusyNotifier()
    monkeypatch.setattr(deadlines, "fire_deadlines", busy.fire_deadlines)
    monkeypatch.setattr(deadlines, "send_reminders", busy.send_reminders)
    monkeypatch.setattr(operations, "counts", busy.counts)
    run = deadline_clock(cast(Notifier, busy), poll_seconds=0.01, gauge_seconds=0.2)
    task = asyncio.create_task(run())
    await asyncio.sleep(0.5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    assert busy.fired > 50  # it kept firing without a pause
    assert 2 <= busy.counted <= 4  # at the start, then every 0.2 s: not once per ten turns
    gauge: Any = REGISTRY.get_sample_value
    assert gauge("laborwatch_notifications", {"status": "pending"}) == 7
    assert gauge("laborwatch_notifications", {"status": "acknowledged"}) == 0

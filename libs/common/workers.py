"""Background loops: a turn of work, done again at once while there is more, else after a
pause (or when woken); a failing turn is logged and tried again, never the end of the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Worker = Callable[[], Coroutine[Any, Any, None]]


def polling(
    name: str,
    turn: Callable[[], Awaitable[object]],
    *,
    poll_seconds: float,
    wake: asyncio.Event | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
) -> Worker:
    """A worker named `name` that runs `turn` for ever: again at once when it did something
    (returned a true value), else after `poll_seconds`, or sooner when `wake` is set (cleared
    before each turn). `on_stop` runs when the worker ends."""

    async def pause() -> None:
        if wake is None:
            await asyncio.sleep(poll_seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_seconds)

    async def run() -> None:
        try:
            while True:
                if wake is not None:
                    wake.clear()
                try:
                    if await turn():
                        continue  # there may be more due right now
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("%s failed; retrying", name.replace("_", " "), exc_info=True)
                await pause()
        finally:
            if on_stop is not None:
                await on_stop()

    run.__name__ = name
    return run

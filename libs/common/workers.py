"""Background loops: a turn of work, done again at once while there is more, else after a
pause; a failing turn is logged and tried again, never the end of the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Worker = Callable[[], Coroutine[Any, Any, None]]


def polling(name: str, turn: Callable[[], Awaitable[object]], *, poll_seconds: float) -> Worker:
    """A worker named `name` that runs `turn` for ever: again at once when it did something
    (returned a true value), else after `poll_seconds`."""

    async def run() -> None:
        while True:
            try:
                if await turn():
                    continue  # there may be more due right now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("%s failed; retrying", name.replace("_", " "), exc_info=True)
            await asyncio.sleep(poll_seconds)

    run.__name__ = name
    return run

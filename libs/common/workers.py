"""Background loops: a turn of work, done again at once while there is more, else after a
pause (or when woken); a failing turn is logged and tried again, never the end of the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from libs.common.clock import woken

log = logging.getLogger(__name__)

Worker = Callable[[], Coroutine[Any, Any, None]]
T = TypeVar("T")


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
        await woken(wake, poll_seconds)

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


class Claim(Generic[T]):
    """A worker's claim on work, shielded from the worker's cancellation. A claim commits a
    lease; stopped between that commit and the turn's next step, the worker would never learn
    what it leased, and the work would wait out the lease. Shielded, the claim runs to its end,
    and `stop` hands over what it took so the worker can give it back."""

    def __init__(self) -> None:
        self.pending: asyncio.Future[T] | None = None

    async def run(self, claiming: Awaitable[T]) -> T:
        """What `claiming` claimed, even if the caller is cancelled while it runs."""
        self.pending = asyncio.ensure_future(claiming)
        try:
            found = await asyncio.shield(self.pending)
        except asyncio.CancelledError:
            raise  # the worker stops: the claim runs on, for stop() to hand over
        except Exception:
            self.pending = None  # it failed here, and the turn says so
            raise
        self.pending = None
        return found

    async def stop(self) -> T | None:
        """What a claim cut short by the worker's stop took (None if none was under way, or
        it failed)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        try:
            return await pending
        except Exception:
            log.warning("a claim under way at the stop failed", exc_info=True)
            return None

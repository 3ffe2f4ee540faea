"""Time: now in UTC, policy durations scaled down in drill mode, and waiting for a wake-up."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, PlainSerializer

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Clock:
    """The clock of a process; `time_scale` > 1 runs policy durations faster (drill mode)."""

    time_scale: float = 1.0

    def now(self) -> dt.datetime:
        """Return the current time, aware, in UTC."""
        return dt.datetime.now(dt.UTC)

    @property
    def drill(self) -> bool:
        """Say whether durations are scaled for an exercise."""
        return self.time_scale != 1.0

    def scaled(self, duration: dt.timedelta) -> dt.timedelta:
        """Scale a policy duration: a 6-hour limit at scale N lasts 6 h / N."""
        return duration / self.time_scale


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Wait until the event is set (True) or the seconds have passed (False).

    Not `asyncio.wait_for`: on Python 3.11 it loses a cancellation that arrives as the event is
    set, and a loop waiting that way would run on after its task was cancelled (a stop that
    never ends). `asyncio.timeout` lets the cancellation through.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _shown_in_shanghai(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat()


# A timestamp as responses show it: stored in UTC, shown in Asia/Shanghai (+08:00).
LocalTime = Annotated[dt.datetime, PlainSerializer(_shown_in_shanghai, return_type=str)]


# A day of margin at each end of the calendar: a time near year 1 or 9999 converted to UTC, or
# shown in another zone, would overflow (a 500 where the caller deserves a 422).
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=1)


def _within_calendar(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("is outside the calendar once converted to UTC") from exc
    if not _EARLIEST <= utc <= _LATEST:
        raise ValueError("is too close to the edge of the calendar (years 1 and 9999)")
    return value


# A timestamp a client sends: with a zone, and convertible to UTC and back (every input time).
Instant = Annotated[AwareDatetime, AfterValidator(_within_calendar)]

"""Drill mode never touches real data: a database is a drill database or a real one, fixed
by the first process that uses it; a process that disagrees refuses to start, saying why."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.tables import DatabaseMode

log = logging.getLogger(__name__)


class ModeMismatch(RuntimeError):
    """The process's mode (drill or real) is not its database's."""


def describe(drill: bool) -> str:
    """Name a mode for people."""
    return "a drill database (演练库)" if drill else "a real database (正式库)"


async def fix_mode(
    sessionmaker: async_sessionmaker[AsyncSession], *, time_scale: float, announce: bool = True
) -> DatabaseMode:
    """Fix the database's mode on first use, or check that this process agrees with it;
    `announce` says drill mode in the log (once a process, where it starts serving)."""
    drill = time_scale != 1.0
    found: DatabaseMode | None = None
    for _ in range(2):  # two first processes at once: one inserts, the other reads it
        try:
            async with sessionmaker.begin() as session:
                found = await session.get(DatabaseMode, 1)
                if found is None:
                    found = DatabaseMode(id=1, drill=drill, time_scale=time_scale)
                    session.add(found)
            break
        except IntegrityError:
            continue
    if found is None:
        raise ModeMismatch("could not read or fix the database's mode (drill or real)")
    if found.drill != drill:
        raise ModeMismatch(_refusal(found, time_scale))
    if drill and announce:
        log.warning(
            "DRILL MODE (演练模式): every policy duration is divided by %g; every incident, "
            "notification and message is marked 【演练】; this database is a drill database",
            time_scale,
            extra={"time_scale": time_scale},
        )
    return found


def _refusal(found: DatabaseMode, time_scale: float) -> str:
    this = f"LABORWATCH_TIME_SCALE={time_scale:g}"
    if found.drill:
        return (
            f"this database is {describe(True)}, fixed on {found.fixed_at:%Y-%m-%d} at time "
            f"scale {found.time_scale:g}; a real process ({this}) may not use it. Point "
            "LABORWATCH_DATABASE_URL at the real database, or set LABORWATCH_TIME_SCALE for a "
            "drill."
        )
    return (
        f"this database is {describe(False)}, fixed on {found.fixed_at:%Y-%m-%d}; a drill "
        f"({this}) may not use it: drills never touch real data. Give the drill a database of "
        "its own (LABORWATCH_DATABASE_URL), or unset LABORWATCH_TIME_SCALE."
    )

"""Group commit: the writes of concurrent requests share one transaction and one commit.

Each request hands over a function that adds its rows to a session, and waits. One writer
takes everything queued, applies it in one transaction and commits; each request's wait ends
only after that commit, so a request still answers only once its data is durable. Requests
that arrive while a commit is in flight form the next group: at low load a group is one
request and nothing waits longer than it would alone.

If a group's commit fails for a reason other than an outage (a unique constraint a retried
request breaks, say), the group is rolled back and each of its writes is applied again in a
transaction of its own, so that only the write at fault sees its error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.db import is_database_outage

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Pending(Generic[T]):
    write: Callable[[AsyncSession], T]
    done: asyncio.Future[T]


class GroupCommit:
    """Apply concurrent writes in shared transactions; see the module's description."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, max_group: int = 200
    ) -> None:
        self._sessionmaker = sessionmaker
        self._max_group = max_group
        self._queue: list[_Pending[Any]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, write: Callable[[AsyncSession], T]) -> T:
        """Run `write` (which only adds to the session, and may run twice) and commit it.

        Returns what the successful run of `write` returned; raises what committing it alone
        raised, or the outage that failed its group.
        """
        pending: _Pending[T] = _Pending(write, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        # Shielded: a caller that goes away does not cancel a commit other requests share.
        return await asyncio.shield(pending.done)

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            try:
                await self._commit(group)
            except Exception as error:
                if len(group) == 1 or is_database_outage(error):
                    for pending in group:
                        _fail(pending, error)
                    continue
                log.info(
                    "group commit failed; committing its writes one by one",
                    exc_info=True,
                    extra={"writes": len(group)},
                )
                for pending in group:
                    try:
                        await self._commit([pending])
                    except Exception as alone:
                        _fail(pending, alone)

    async def _commit(self, group: list[_Pending[Any]]) -> None:
        async with self._sessionmaker.begin() as session:
            results = [pending.write(session) for pending in group]
        for pending, result in zip(group, results, strict=True):
            if not pending.done.done():
                pending.done.set_result(result)


def _fail(pending: _Pending[Any], error: BaseException) -> None:
    if not pending.done.done():
        pending.done.set_exception(error)

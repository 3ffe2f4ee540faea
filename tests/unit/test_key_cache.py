"""The API key cache: a key's principal is looked up once, however many requests ask at once."""

from __future__ import annotations

import asyncio

import pytest

from libs.common.auth import KeyCache, Principal, Role

ALICE = Principal(key_id="k1", name="alice", role=Role.REPORTER, jurisdiction=None, body_id=None)


class Lookups:
    """A lookup that takes a while, counting how often it runs."""

    def __init__(self, result: Principal | None = ALICE, *, fail: bool = False) -> None:
        self.result, self.fail, self.calls = result, fail, 0
        self.release = asyncio.Event()

    async def __call__(self) -> Principal | None:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise ConnectionError("database away")
        return self.result


async def _waiting(cache: KeyCache, load: Lookups, n: int) -> list[asyncio.Task[Principal | None]]:
    tasks = [asyncio.create_task(cache.resolve("h", load)) for _ in range(n)]
    await asyncio.sleep(0)  # every request is now waiting
    return tasks


async def test_requests_in_flight_share_one_lookup_and_the_result_is_kept() -> None:
    now = 0.0
    cache = KeyCache(5, clock=lambda: now)
    load = Lookups()
    tasks = await _waiting(cache, load, 50)
    load.release.set()
    assert await asyncio.gather(*tasks) == [ALICE] * 50
    assert load.calls == 1
    assert await cache.resolve("h", load) == ALICE  # kept
    assert load.calls == 1
    now += 5  # expired: looked up again, once
    tasks = await _waiting(cache, load, 20)
    assert await asyncio.gather(*tasks) == [ALICE] * 20
    assert load.calls == 2


async def test_an_unknown_key_is_shared_but_not_kept() -> None:
    cache = KeyCache(5)
    load = Lookups(None)
    tasks = await _waiting(cache, load, 10)
    load.release.set()
    assert await asyncio.gather(*tasks) == [None] * 10
    assert await cache.resolve("h", load) is None
    assert load.calls == 2  # a refusal is looked up again: a new key works at once


async def test_a_failed_lookup_fails_its_waiters_and_the_next_request_tries_again() -> None:
    cache = KeyCache(5)
    load = Lookups(fail=True)
    tasks = await _waiting(cache, load, 5)
    load.release.set()
    for task in tasks:
        with pytest.raises(ConnectionError):
            await task
    load.fail = False
    assert await cache.resolve("h", load) == ALICE
    assert load.calls == 2


async def test_a_request_that_goes_away_does_not_cancel_the_others_lookup() -> None:
    cache = KeyCache(5)
    load = Lookups()
    leaving, staying = await _waiting(cache, load, 2)
    leaving.cancel()
    await asyncio.sleep(0)
    load.release.set()
    assert await staying == ALICE
    assert leaving.cancelled()
    assert load.calls == 1

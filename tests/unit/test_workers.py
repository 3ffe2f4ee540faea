"""The background loop and the claim it makes: a worker stopped while a claim is under way
still learns what the claim took, so it can hand that back; a worker cancelled as it is woken
stops all the same."""

from __future__ import annotations

import asyncio

import pytest

from libs.common.clock import woken
from libs.common.workers import Claim, polling


async def test_a_worker_stopped_mid_claim_still_hands_back_what_the_claim_took() -> None:
    committing, committed = asyncio.Event(), asyncio.Event()
    handed_back: list[list[int]] = []
    claim: Claim[list[int]] = Claim()

    async def lease() -> list[int]:
        committing.set()
        await committed.wait()  # the lease is being written when the stop comes
        return [7, 8]

    async def turn() -> int:
        return len(await claim.run(lease()))

    async def stop() -> None:
        handed_back.append(await claim.stop() or [])

    worker = asyncio.create_task(polling("test_queue", turn, poll_seconds=1.0, on_stop=stop)())
    await committing.wait()
    worker.cancel()
    await asyncio.sleep(0)  # the stop begins, and waits for the claim to end
    committed.set()
    await asyncio.gather(worker, return_exceptions=True)
    assert worker.cancelled()
    assert handed_back == [[7, 8]]


async def test_a_finished_claim_leaves_nothing_for_the_stop() -> None:
    claim: Claim[list[int]] = Claim()

    async def lease() -> list[int]:
        return [1]

    assert await claim.run(lease()) == [1]
    assert await claim.stop() is None


async def test_a_claim_that_fails_at_the_stop_is_logged_not_raised() -> None:
    claim: Claim[list[int]] = Claim()
    started = asyncio.Event()

    async def lease() -> list[int]:
        started.set()
        await asyncio.sleep(0.01)
        raise ConnectionError("the database went away")

    running = asyncio.create_task(claim.run(lease()))
    await started.wait()
    running.cancel()
    assert await claim.stop() is None
    await asyncio.gather(running, return_exceptions=True)


async def test_a_claim_that_failed_in_its_turn_leaves_nothing_for_the_stop() -> None:
    claim: Claim[list[int]] = Claim()

    async def lease() -> list[int]:
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        await claim.run(lease())
    assert claim.pending is None
    assert await claim.stop() is None


async def test_woken_says_whether_the_event_came_before_the_time_ran_out() -> None:
    event = asyncio.Event()
    assert await woken(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await woken(event, 5) is True


async def test_a_cancellation_that_arrives_as_the_event_is_set_is_not_lost() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(woken(event, 5))
    await asyncio.sleep(0.01)
    event.set()
    waiting.cancel()  # the same moment: asyncio.wait_for (Python 3.11) would return True
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiting.cancelled()


async def test_a_worker_cancelled_as_it_is_woken_stops() -> None:
    wake, turns = asyncio.Event(), []

    async def turn() -> int:
        turns.append(1)
        return 0

    worker = asyncio.create_task(polling("test_queue", turn, poll_seconds=5, wake=wake)())
    await asyncio.sleep(0.01)
    wake.set()
    worker.cancel()
    done, _ = await asyncio.wait([worker], timeout=1)
    assert worker in done and worker.cancelled()
    assert len(turns) == 1

"""A service stops even when one of its tasks swallowed a cancellation."""

from __future__ import annotations

import asyncio

from shared.runtime.service import cancel_all


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again_until_it_stops():
    async def consumer_that_lost_a_cancellation() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # what asyncio.wait_for in Python 3.11 can do when a result arrives at the same moment
        await asyncio.sleep(10)  # goes on consuming

    task = asyncio.create_task(consumer_that_lost_a_cancellation())
    await asyncio.sleep(0)

    await asyncio.wait_for(cancel_all([task]), timeout=5)

    assert task.cancelled()

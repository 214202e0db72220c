"""Requests that arrive together are saved together; a caller who gave up does not stop the others."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from booking_story import MONDAY_MORNING, World, nik, office_day

from services.booking.grouping import RequestGroups
from shared.events import BookingView

SOON = office_day(MONDAY_MORNING.date())  # the groups decide by the world's clock


async def test_requests_arriving_while_a_group_is_saved_form_the_next_group():
    world = World()
    callers = [world.signed_up(f"citizen-{i}") for i in range(30)]
    with ThreadPoolExecutor(max_workers=1) as writer:
        groups = RequestGroups(world.app, writer, on_saved=lambda: None, max_group=500, clock=lambda: world.now)
        outcomes = await asyncio.gather(
            *(groups.submit(world.request(c, [nik(i)], day=SOON)) for i, c in enumerate(callers))
        )
    assert all(isinstance(o, BookingView) for o in outcomes)
    assert groups.groups < len(callers)


async def test_a_caller_who_gave_up_does_not_stop_the_others():
    world = World()
    callers = [world.signed_up(f"citizen-{i}") for i in range(3)]
    with ThreadPoolExecutor(max_workers=1) as writer:
        groups = RequestGroups(world.app, writer, on_saved=lambda: None, clock=lambda: world.now)
        impatient = asyncio.create_task(groups.submit(world.request(callers[0], [nik(0)], day=SOON)))
        others = [
            asyncio.create_task(groups.submit(world.request(c, [nik(i)], day=SOON)))
            for i, c in enumerate(callers[1:], 1)
        ]
        await asyncio.sleep(0)
        impatient.cancel()
        outcomes = await asyncio.wait_for(asyncio.gather(*others), timeout=10)
    assert all(isinstance(o, BookingView) for o in outcomes)

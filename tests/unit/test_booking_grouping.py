"""Requests that arrive together are saved together; a caller who gave up does not stop the others."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from booking_story import MONDAY_MORNING, World, nik, office_day
from support import until

from services.booking.grouping import RequestGroups
from shared.events import BookingView

SOON = office_day(MONDAY_MORNING.date())  # the groups decide by the world's clock


class GatedSaves:
    """The application's group save, counted, with the first save held until the test lets it finish."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.sizes = app, []
        self.first_started, self.let_first_finish = threading.Event(), threading.Event()

    def request_bookings(self, commands, now):  # noqa: ANN001, ANN201
        self.sizes.append(len(commands))
        if len(self.sizes) == 1:
            self.first_started.set()
            assert self.let_first_finish.wait(10), "the test never let the first save finish"
        return self.app.request_bookings(commands, now)


async def test_requests_arriving_while_a_group_is_saved_form_the_next_group():
    world = World()
    callers = [world.signed_up(f"citizen-{i}") for i in range(501)]
    saves = GatedSaves(world.app)
    with ThreadPoolExecutor(max_workers=1) as writer:
        groups = RequestGroups(saves, writer, on_saved=lambda: None, max_group=500, clock=lambda: world.now)
        first = asyncio.create_task(groups.submit(world.request(callers[0], [nik(0)], day=SOON)))
        assert await asyncio.to_thread(saves.first_started.wait, 10), "the first save began"
        arriving = [
            asyncio.create_task(groups.submit(world.request(c, [nik(i)], day=SOON)))
            for i, c in enumerate(callers[1:], 1)
        ]
        await until(lambda: len(groups.pending) == len(arriving), 10, "all 500 arrivals waiting in line")
        saves.let_first_finish.set()
        outcomes = await asyncio.gather(first, *arriving)
    assert all(isinstance(o, BookingView) for o in outcomes)
    assert saves.sizes == [1, 500], "the first request alone, then all 500 that arrived during its save, at once"
    assert groups.groups == 2


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

"""Grouped saves: booking requests that arrive together are decided together and saved at once.

While the writer thread saves one group, the requests that arrive meanwhile wait in line; the
next group takes all of them (up to `max_group`). One durable commit serves many requests, so
the booking service keeps up with a rush; with `max_group=1` every request has its own save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from shared.clock import Clock, now
from shared.events import BookingView, RequestBooking

from .application import BookingApplication
from .errors import BookingError

Outcome = BookingView | BookingError


class RequestGroups:
    """Collects concurrent booking requests and hands them to the application in groups."""

    def __init__(
        self,
        app: BookingApplication,
        writer: Executor,
        on_saved: Callable[[], None],
        max_group: int = 500,
        clock: Clock = now,
    ):
        self.app, self.writer, self.on_saved, self.max_group, self.clock = app, writer, on_saved, max_group, clock
        self.pending: list[tuple[RequestBooking, asyncio.Future[Outcome]]] = []
        self.groups = 0
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, command: RequestBooking) -> Outcome:
        """The request's booking, or the rule that refused it."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.pending.append((command, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="booking-groups")
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending:
            group, self.pending = self.pending[: self.max_group], self.pending[self.max_group :]
            commands = [command for command, _ in group]
            try:
                outcomes = await loop.run_in_executor(self.writer, self.app.request_bookings, commands, self.clock())
            except Exception as error:  # the store failed: every waiting request hears it, none is lost silently
                for _, future in group:
                    if not future.done():  # a waiter that gave up is not told
                        future.set_exception(error)
                continue
            self.groups += 1
            self.on_saved()
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

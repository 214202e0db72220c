"""Expiry of payment holds: on each tick, the bookings whose deadline passed unpaid are voided.

The deadlines are events (`Booking.BillIssued`), never timers in memory: the watcher follows the
store's notification log (only the topics that open or close a hold), so a restarted service finds
every hold again by reading the log from its start, and the clock it compares them with is the
process's injectable clock (`shared.clock`). Voiding goes through the Booking aggregate, so a
payment racing it has exactly one winner (`payments.py`). Several replicas may tick at once: the
event store lets one void a booking; the others find it voided.

A voided booking goes out as `BookingCancelled` (reason `unpaid`): quota releases its slot through
the normal cancellation path, where a waitlist takes a released slot first once it exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import get_topic

from shared import clock

from .application import BookingApplication
from .domain import Booking

log = logging.getLogger(__name__)
HOLDS_OPEN = Booking.BillIssued
HOLDS_CLOSE = (Booking.Paid, Booking.Voided, Booking.Cancelled, Booking.Withdrawn, Booking.Attended)


class Holds:
    """The deadlines of the bookings held unpaid, as the store's events say; read on the writer thread."""

    def __init__(self, app: BookingApplication, page: int = 1000, most_per_tick: int = 500) -> None:
        self.app, self.page, self.most_per_tick = app, page, most_per_tick
        self.position = 0  # the last notification read
        self.deadlines: dict[UUID, dt.datetime] = {}
        self.opens = get_topic(HOLDS_OPEN)
        self.topics = [self.opens, *(get_topic(cls) for cls in HOLDS_CLOSE)]

    def catch_up(self) -> None:
        """Read the holds opened and closed since the last read."""
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position, limit=self.page, topics=self.topics, inclusive_of_start=False
            )
            for notification in notifications:
                booking_id = UUID(str(notification.originator_id))
                if notification.topic == self.opens:
                    event: Any = self.app.mapper.to_domain_event(notification)
                    self.deadlines[booking_id] = event.deadline
                else:
                    self.deadlines.pop(booking_id, None)
            if len(notifications) < self.page:
                if notifications:
                    self.position = notifications[-1].id
                return
            self.position = notifications[-1].id

    def due(self, now: dt.datetime) -> list[UUID]:
        """The held bookings whose deadline is past, earliest first (at most `most_per_tick`)."""
        late = sorted((deadline, b) for b, deadline in self.deadlines.items() if deadline <= now)
        return [b for _, b in late[: self.most_per_tick]]

    def tick(self, now: dt.datetime) -> list[UUID]:
        """Void what is due at `now` (one save); the ids voided. Run it on the application's writer."""
        self.catch_up()
        due = self.due(now)
        if not due:
            return []
        results = self.app.payments.expire(due, now)
        for booking_id, result in results.items():
            if isinstance(result, bool):  # decided: voided, or found paid or ended (its expiry lost)
                self.deadlines.pop(booking_id, None)
        voided = [b for b, result in results.items() if result is True]
        if voided:
            log.info("%d booking(s) voided: not paid by their deadline", len(voided))
        return voided


async def expire_holds(
    holds: Holds, writer: Executor, on_saved: Callable[[], None], every: float, now: clock.Clock = clock.now
) -> None:
    """Void the bookings whose payment deadline passed, on the writer, every `every` seconds."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            if await loop.run_in_executor(writer, lambda: holds.tick(now())):
                on_saved()
        except PersistenceError:  # the store away a moment (locked, a lost connection): the next tick tries again
            log.warning("payment holds: the store failed; trying again in %g s", every, exc_info=True)
        await asyncio.sleep(every)

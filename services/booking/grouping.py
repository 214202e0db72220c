"""The booking service's group commits: requests decided together, and quota answers recorded together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from shared.clock import Clock, now
from shared.events import BookingView, RequestBooking, SlotRejected, SlotReserved
from shared.runtime.grouping import GroupCommit, Item, Result

from .application import BookingApplication
from .errors import BookingError
from .intake import booking_id_of

Outcome = BookingView | BookingError


class BookingGroups(GroupCommit[Item, Result]):
    """A group commit on the booking application, each group decided and saved by `save_group`."""

    kind = "group"

    def __init__(
        self,
        app: BookingApplication,
        writer: Executor,
        on_saved: Callable[[], None],
        max_group: int = 500,
        clock: Clock = now,
    ) -> None:
        decide = lambda items: self.save_group(app, items, clock())  # noqa: E731
        super().__init__(decide, writer, on_saved, max_group, f"booking {self.kind}", self.booking_of)

    @staticmethod
    def booking_of(item: Item) -> object:
        """The booking an item is about (its spans name it)."""
        raise NotImplementedError

    @staticmethod
    def save_group(app: BookingApplication, items: Sequence[Item], at: dt.datetime) -> Sequence[Result]:
        raise NotImplementedError


class RequestGroups(BookingGroups[RequestBooking, Outcome]):
    """Booking requests that arrive together are decided in order and saved at once.

    A later request of a group sees the earlier ones' changes, so a group decides exactly as one
    by one would.
    """

    kind = "requests"

    @staticmethod
    def booking_of(item: RequestBooking) -> object:
        return booking_id_of(item)

    @staticmethod
    def save_group(app: BookingApplication, items: Sequence[RequestBooking], at: dt.datetime) -> list[Outcome]:
        return app.request_bookings(items, at)


class DecisionGroups(BookingGroups[SlotReserved | SlotRejected, BookingView]):
    """Quota's answers on the fast path, recorded together: each caller gets its booking as it now is."""

    kind = "decisions"

    @staticmethod
    def booking_of(item: SlotReserved | SlotRejected) -> object:
        return item.booking_id

    @staticmethod
    def save_group(
        app: BookingApplication, items: Sequence[SlotReserved | SlotRejected], at: dt.datetime
    ) -> list[BookingView]:
        app.outcomes.apply(items, at)
        return [app.view(decision.booking_id) for decision in items]

"""The booking service's group commits: requests decided together, and quota answers recorded together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from shared.clock import Clock, now
from shared.events import BookingView, RequestBooking, SlotRejected, SlotReserved
from shared.runtime.grouping import GroupCommit

from .application import BookingApplication
from .errors import BookingError

Outcome = BookingView | BookingError


class RequestGroups(GroupCommit[RequestBooking, Outcome]):
    """Booking requests that arrive together are decided in order and saved at once.

    A later request of a group sees the earlier ones' changes, so a group decides exactly as one
    by one would.
    """

    def __init__(
        self,
        app: BookingApplication,
        writer: Executor,
        on_saved: Callable[[], None],
        max_group: int = 500,
        clock: Clock = now,
    ) -> None:
        super().__init__(
            lambda commands: app.request_bookings(commands, clock()), writer, on_saved, max_group, "requests"
        )


class DecisionGroups(GroupCommit[SlotReserved | SlotRejected, BookingView]):
    """Quota's answers on the fast path, recorded together: each caller gets its booking as it now is."""

    def __init__(
        self,
        app: BookingApplication,
        writer: Executor,
        on_saved: Callable[[], None],
        max_group: int = 500,
        clock: Clock = now,
    ) -> None:
        def record(decisions: Sequence[SlotReserved | SlotRejected]) -> list[BookingView]:
            app.apply_outcomes(decisions, clock())
            return [app.view(decision.booking_id) for decision in decisions]

        super().__init__(record, writer, on_saved, max_group, "decisions")

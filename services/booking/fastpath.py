"""The fast path: a booking decided in one round trip, the asynchronous pipeline kept for recovery.

Once a request is recorded (`BookingRequested`, in its group commit), the booking service asks the
quota worker that owns the office's partition to decide it now, and records the answer in its next
group commit: the citizen's one call ends confirmed or refused. The outbox still publishes every
event, so the quota worker meets the same request again through JetStream, finds it decided and
changes nothing. If the answer does not come in time (a crash, a restart, an overloaded worker),
the booking stays requested and that pipeline finishes it, idempotent by booking id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from pydantic import TypeAdapter

from shared.events import (
    BookingRequested,
    BookingStatus,
    BookingView,
    Commands,
    RequestBooking,
    SlotRejected,
    SlotReserved,
    derived_id,
    partition_of,
)
from shared.pseudonyms import Pseudonyms
from shared.runtime.faults import CrashPoint

from .accounts import Account
from .draw_keys import draw_keys
from .grouping import DecisionGroups

log = logging.getLogger(__name__)
Ask = Callable[[str, bytes, float], Awaitable[bytes]]  # subject, payload, timeout -> reply, or NoAnswer raised
DECISION: TypeAdapter[SlotReserved | SlotRejected] = TypeAdapter(SlotReserved | SlotRejected)


class NoAnswer(Exception):
    """Quota did not answer in time (no worker, a crash, NATS away, or too slow)."""


class FastPath:
    """Asks the partition's quota worker for a just-recorded booking's decision and records it."""

    def __init__(
        self, ask: Ask, decisions: DecisionGroups, partitions: int, deadline: float, crash: CrashPoint | None = None
    ) -> None:
        self.ask, self.decisions, self.partitions, self.deadline = ask, decisions, partitions, deadline
        self.answered = self.left_to_pipeline = 0
        self.crash = crash or CrashPoint()  # a test hook: off unless a fault test sets it
        self.pseudonyms: Pseudonyms | None = None  # set: requests carry their keyed draw ids

    async def finish(self, booking: BookingView, command: RequestBooking) -> BookingView:
        """The booking decided, or as it was when quota gave no usable answer in time."""
        if booking.status != BookingStatus.REQUESTED:
            return booking
        decision = await self._decision(booking, command)
        if decision is None:
            self.left_to_pipeline += 1
            return booking
        self.answered += 1
        self.crash.pass_by()  # quota decided, nothing recorded here yet
        return await self.decisions.submit(decision)

    async def _decision(self, booking: BookingView, command: RequestBooking) -> SlotReserved | SlotRejected | None:
        request = requested(booking, command, self.pseudonyms)
        subject = Commands.DECIDE_BOOKING.format(partition=partition_of(booking.slot.office, self.partitions))
        try:
            reply = await self.ask(subject, request.model_dump_json().encode(), self.deadline)
        except NoAnswer as error:
            log.info("booking %s left to the pipeline: %s", booking.booking_id, error)
            return None
        try:
            answer = json.loads(reply)
            if isinstance(answer, dict) and "waiting" in answer:  # in its date's waiting room: the draw decides
                log.info("booking %s waits for its release draw", booking.booking_id)
                return None
            return DECISION.validate_python(answer["decision"])
        except (ValueError, KeyError, TypeError) as error:  # a refusal to decide (the store failed), or garbage
            log.warning("booking %s left to the pipeline: quota answered %.200r (%s)", booking.booking_id, reply, error)
            return None


def requested(booking: BookingView, command: RequestBooking, pseudonyms: Pseudonyms | None = None) -> BookingRequested:
    """The request as the outbox publishes it (same message id), for quota to decide now."""
    keys = []
    if pseudonyms is not None:
        account = Account.id_for(command.caller.provider, command.caller.subject)
        keys = draw_keys(
            pseudonyms, booking.slot.office, booking.slot.date, account, [a.nik for a in command.applicants]
        )
    return BookingRequested(
        message_id=derived_id("booking", booking.booking_id, "requested"),
        correlation_id=command.correlation_id,
        booking_id=booking.booking_id,
        slot=booking.slot,
        applicants=booking.applicants,
        fallbacks=command.fallbacks,
        draw_keys=keys,
    )

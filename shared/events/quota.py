"""Quota events: the quota service's decisions."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

from pydantic import Field

from .common import Frozen, OfficeCode, Session, Slot
from .envelope import Message


class RejectionReason(str, Enum):
    """Why a slot was not given."""

    SOLD_OUT = "sold_out"
    OFFICE_CLOSED = "office_closed"
    NOT_RELEASED = "not_released"
    DATE_PAST = "date_past"
    UNKNOWN_OFFICE = "unknown_office"
    HOLD_LAPSED = "hold_lapsed"  # a waitlist offer was not accepted before its deadline


class SlotReserved(Message):
    """Event: a slot was reserved for a booking, with its queue number."""

    booking_id: uuid.UUID = Field(description="The booking that holds the slot.")
    slot: Slot = Field(description="Office, date and session.")
    queue_number: int = Field(ge=1, description="Queue number within the session (1..capacity).")
    remaining: int = Field(ge=0, description="Slots left in the session after this one.")


class SlotRejected(Message):
    """Event: no slot for a booking, and why."""

    booking_id: uuid.UUID = Field(description="The booking refused.")
    slot: Slot = Field(description="Office, date and session wanted.")
    reason: RejectionReason = Field(description="Why no slot was given.")


class SlotReleased(Message):
    """Event: a cancelled booking's slot is bookable again."""

    booking_id: uuid.UUID = Field(description="The booking that held the slot.")
    slot: Slot = Field(description="Office, date and session.")
    remaining: int = Field(ge=0, description="Slots left in the session after the release.")


class GetCalendar(Message):
    """Query: capacity, booked and remaining per session for an office and dates."""

    office: OfficeCode = Field(description="Office code.")
    start: dt.date = Field(description="First date, inclusive.")
    end: dt.date = Field(description="Last date, inclusive (at most 92 days after start).")


class SessionAvailability(Frozen):
    """One session's quota ("data kuota dan pengantri")."""

    date: dt.date = Field(description="The date.")
    session: Session = Field(description="The session.")
    capacity: int = Field(ge=0, description="Registrants the session takes.")
    booked: int = Field(ge=0, description="Registrants booked.")
    remaining: int = Field(ge=0, description="Places left.")
    open: bool = Field(description="Whether it can be booked now (released, not closed).")
    reason: RejectionReason | None = Field(default=None, description="Why it is not open.")


class Calendar(Frozen):
    """Reply to GetCalendar."""

    office: OfficeCode = Field(description="Office code.")
    sessions: list[SessionAvailability] = Field(description="One entry per date and session.")


class SlotWithdrawn(Message):
    """Event: a session was closed (e.g. an unplanned office closure) and took back a booking's slot."""

    booking_id: uuid.UUID = Field(description="The booking whose slot was withdrawn.")
    slot: Slot = Field(description="Office, date and session closed.")
    reason: str = Field(description="Why the session was closed, as the operator said it.")


class ChangeCapacity(Message):
    """Operator command: set the capacity of a date's session(s) at an office."""

    office: OfficeCode = Field(description="Office code.")
    date: dt.date = Field(description="The date.")
    session: Session | None = Field(default=None, description="One session, or None for both.")
    capacity: int = Field(ge=0, le=10000, description="New capacity per session.")
    operator: str = Field(min_length=1, max_length=200, description="Who changes it (for the audit).")


class CloseSessions(Message):
    """Operator command: close a date's session(s) at an office; booked applicants are told."""

    office: OfficeCode = Field(description="Office code.")
    date: dt.date = Field(description="The date.")
    session: Session | None = Field(default=None, description="One session, or None for the whole day.")
    reason: str = Field(min_length=3, max_length=300, description="Why, shown to the affected citizens.")
    operator: str = Field(min_length=1, max_length=200, description="Who closes it (for the audit).")


class RebuildAvailability(Message):
    """Operator command: put a partition's sessions in the availability read model again, from the quota store."""

    operator: str = Field(min_length=1, max_length=200, description="Who asks (logged).")


class RebuildOutcomes(Message):
    """Operator command: publish a partition's stored decisions again, so that the booking service applies any it
    lacks (idempotently: what it recorded already changes nothing)."""

    operator: str = Field(min_length=1, max_length=200, description="Who asks (logged).")
    after: int = Field(default=0, ge=0, description="Publish the events stored after this position (0: all).")


class Decision(Frozen):
    """One booking's outcome inside a SlotsDecided message."""

    booking_id: uuid.UUID = Field(description="The booking decided.")
    queue_number: int | None = Field(default=None, ge=1, description="Its queue number, when reserved.")
    reason: RejectionReason | None = Field(default=None, description="Why not, when rejected.")
    remaining: int = Field(ge=0, description="Places left in the session after this decision.")
    correlation_id: uuid.UUID = Field(description="The booking's correlation id.")
    causation_id: uuid.UUID = Field(description="The BookingRequested message decided.")


class SlotsDecided(Message):
    """Event: every decision one quota batch made for one session (one message, many bookings).

    Consumers read it as one SlotReserved or SlotRejected per booking (`expand`), with the same
    deterministic message ids as if each had been published alone.
    """

    slot: Slot = Field(description="Office, date and session.")
    decisions: list[Decision] = Field(min_length=1, description="The decisions, in the order they were made.")

    def expand(self) -> list[SlotReserved | SlotRejected]:
        """One message per booking."""
        return [_single(self, d) for d in self.decisions]

    def split(self, max_bytes: int) -> list[SlotsDecided]:
        """Parts that each encode to at most `max_bytes` (NATS's payload limit), in order, with stable ids.

        The same message split the same way gives the same ids, so a relay that publishes it again
        after a restart is deduplicated by JetStream as the whole message would have been.
        """
        from .envelope import derived_id

        pieces: list[list[Decision]] = []

        def cut(decisions: list[Decision]) -> None:
            part = self.model_copy(update={"decisions": decisions})
            if len(part.model_dump_json()) <= max_bytes or len(decisions) == 1:
                pieces.append(decisions)
                return
            half = len(decisions) // 2
            cut(decisions[:half])
            cut(decisions[half:])

        cut(list(self.decisions))
        if len(pieces) == 1:
            return [self]
        return [
            self.model_copy(
                update={"decisions": part, "message_id": derived_id(self.message_id, "part", i, len(pieces))}
            )
            for i, part in enumerate(pieces)
        ]


def _single(batch: SlotsDecided, d: Decision) -> SlotReserved | SlotRejected:
    from .envelope import derived_id

    common = {
        "occurred_at": batch.occurred_at,
        "correlation_id": d.correlation_id,
        "causation_id": d.causation_id,
        "booking_id": d.booking_id,
        "slot": batch.slot,
    }
    if d.queue_number is None:
        return SlotRejected(message_id=derived_id("quota", d.booking_id, "rejected"), reason=d.reason, **common)
    return SlotReserved(
        message_id=derived_id("quota", d.booking_id, "reserved"),
        queue_number=d.queue_number,
        remaining=d.remaining,
        **common,
    )

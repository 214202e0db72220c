"""What happens to a booking after it was requested: the quota's decision, a closure, attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from shared.events import BookingCheckedIn, BookingNoShow, Message, SlotRejected, SlotReserved, SlotWithdrawn
from shared.events.waitlist import SlotOffered, SlotWaitlisted
from shared.pseudonyms import Pseudonyms

from .domain import Booking, NikClaim
from .moves import MoveLink
from .unit import Unit
from .writer import Writer

OUTCOMES = (SlotReserved, SlotRejected, SlotWithdrawn, BookingCheckedIn, BookingNoShow, SlotWaitlisted, SlotOffered)
OnConfirmed = Callable[[Unit, Booking, dt.datetime], None]  # e.g. the payment hold's bill (`payments.py`)


class OutcomeActions:
    """Turning other services' events into booking state, written through the booking application's writer."""

    def __init__(self, writer: Writer, pseudonyms: Pseudonyms, on_confirmed: OnConfirmed | None = None) -> None:
        self.writer = writer
        self.pseudonyms = pseudonyms
        self.on_confirmed = on_confirmed

    def apply(self, messages: Sequence[Message], now: dt.datetime) -> None:
        """Quota decisions and attendance: confirm, reject, withdraw, check in or mark missed; one save."""
        unit = self.writer.unit()
        with self.writer.undone_on_failure(unit):
            for message in messages:
                if not isinstance(message, OUTCOMES):
                    continue  # _apply would ignore it: nothing else is an outcome
                booking = unit.find(message.booking_id)
                if isinstance(booking, MoveLink):  # quota answers a move (`moves.py`) under the move's id
                    booking = unit.find(booking.booking_id)
                    if isinstance(booking, Booking) and booking.pending_move and booking.move_id == message.booking_id:
                        unit.add(booking)
                        self._apply_move(booking, message, now)
                        continue
                if isinstance(booking, Booking) and booking.holder != message.booking_id:
                    continue  # about the slot a rescheduled booking left (e.g. its old session closed)
                if isinstance(booking, Booking):
                    unit.add(booking)  # unchanged, it saves nothing
                    self._apply(unit, booking, message, now)
        self.writer.save(*unit.changed())

    @staticmethod
    def _apply_move(booking: Booking, message: Message, now: dt.datetime) -> bool:
        """The new slot of a move was reserved (the booking moves) or refused (it stays where it was)."""
        cause = str(message.message_id)
        if isinstance(message, SlotReserved):
            return booking.finish_move(message.queue_number, now, cause)
        if isinstance(message, SlotRejected):
            return booking.refuse_move(message.reason.value, now, cause)
        return False

    def _apply(self, unit: Unit, booking: Booking, message: Message, now: dt.datetime) -> bool:
        cause = str(message.message_id)
        if isinstance(message, SlotWaitlisted):  # still upcoming: nothing ends
            return booking.wait(now, cause)
        if isinstance(message, SlotOffered):
            return booking.offer(message.queue_number, message.hold_until, now, cause)
        if isinstance(message, SlotReserved):
            confirmed = booking.confirm(message.queue_number, now, cause, message.slot.session.value)
            if confirmed and self.on_confirmed is not None:
                self.on_confirmed(unit, booking, now)  # saved with the confirmation, in the same save
            return confirmed
        if isinstance(message, SlotRejected):
            done = booking.reject(message.reason.value, now, cause)
        elif isinstance(message, SlotWithdrawn):
            done = booking.withdraw(message.reason, now, cause)
        elif isinstance(message, (BookingCheckedIn, BookingNoShow)):
            detail = f"checked in by {message.officer}" if isinstance(message, BookingCheckedIn) else "not checked in"
            done = booking.attend(isinstance(message, BookingCheckedIn), message.occurred_at, detail, cause)
        else:
            return False
        if done:
            end(unit, booking, self.pseudonyms, given_back=isinstance(message, (SlotRejected, SlotWithdrawn)))
        return done


def end(unit: Unit, booking: Booking, pseudonyms: Pseudonyms, given_back: bool) -> None:
    """The booking is no longer upcoming: the account may book again, its NIKs are free."""
    account = unit.existing(booking.account_id)
    unit.add(account)
    if given_back:
        account.give_back(str(booking.id))
    else:
        account.ended(str(booking.id))
    free_claims(unit, booking, pseudonyms)


def free_claims(unit: Unit, booking: Booking, pseudonyms: Pseudonyms) -> None:
    """The booking's NIKs may be booked again (the claims are saved with the unit)."""
    for nik in booking.niks:
        claim: NikClaim = unit.existing(NikClaim.id_for(nik, pseudonyms))
        unit.add(claim)
        claim.free(str(booking.id))

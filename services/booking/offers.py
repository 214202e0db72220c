"""Accepting a place offered from the waitlist: the owner asks, quota turns the hold into a reservation.

The booking service checks that the caller owns the booking (on its device) and that it is `offered`,
then asks the partition's quota worker (`paspor.cmd.quota.pNN.accept`) to turn the hold into a
reservation. Quota answers with the decision its relay will also publish (same message id): reserved
(accepted in time) or refused `hold_lapsed` (the deadline passed first). The answer is recorded at once
in a decision group, as on the fast path; met again through JetStream, it changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Executor
from uuid import UUID

from faststream.nats import NatsBroker

from shared.events import BookingView, Caller, Commands, partition_of
from shared.events.waitlist import AcceptHold, AcceptOffer
from shared.runtime.replies import problem, serve

from .application import BookingApplication
from .callers import caller_in
from .errors import BookingError, BookingNotFound
from .fastpath import DECISION, Ask, NoAnswer
from .grouping import DecisionGroups
from .views import booking_view

log = logging.getLogger(__name__)


class NotOffered(BookingError):
    """The booking holds no offer to accept (not offered yet, decided already, or the offer lapsed)."""

    code = "not_offered"
    message_id = "Tidak ada tawaran tempat untuk pemesanan ini (status: {status})."
    message_en = "No place is offered to this booking (status: {status})."


class OfferNotAnswered(BookingError):
    """Quota did not answer in time; the offer stands until its deadline: try again."""

    code = "offer_not_answered"
    message_id = "Belum ada jawaban; tawaran tetap berlaku sampai batas waktunya, coba lagi."
    message_en = "No answer yet; the offer stands until its deadline: try again."


def offered_booking(app: BookingApplication, caller: Caller, booking_id: UUID) -> BookingView:
    """The caller's own booking, checked to be offered a place (read on the writer; nothing saved)."""
    unit = app.writer.unit()
    account, _ = caller_in(unit, caller)
    booking = unit.find(booking_id)
    if booking is None or getattr(booking, "account_id", None) != account.id:
        raise BookingNotFound()
    if booking.status != "offered":
        raise NotOffered(status=booking.status)
    return booking_view(booking, app.rules)


class OfferDesk:
    """Serves `paspor.cmd.booking.offer.accept`."""

    def __init__(
        self,
        app: BookingApplication,
        writer: Executor,
        ask: Ask,
        decisions: DecisionGroups,
        partitions: int,
        deadline: float = 5.0,
    ) -> None:
        self.app, self.writer, self.ask, self.decisions = app, writer, ask, decisions
        self.partitions, self.deadline = partitions, deadline

    async def accept(self, command: AcceptOffer) -> BookingView:
        """The booking confirmed (accepted in time) or rejected (lapsed first); BookingError if nothing to accept."""
        view = await asyncio.get_running_loop().run_in_executor(
            self.writer, offered_booking, self.app, command.caller, command.booking_id
        )
        hold = AcceptHold(booking_id=view.booking_id, slot=view.slot, **command.caused())
        subject = Commands.ACCEPT_HOLD.format(partition=partition_of(view.slot.office, self.partitions))
        try:
            reply = json.loads(await self.ask(subject, hold.model_dump_json().encode(), self.deadline))
        except NoAnswer as error:
            log.info("offer of %s not answered: %s", view.booking_id, error)
            raise OfferNotAnswered() from None
        if "decision" not in reply:
            raise NotOffered(status=f"quota: {reply.get('problem', {}).get('code', 'no answer')}")
        return await self.decisions.submit(DECISION.validate_python(reply["decision"]))

    def register(self, broker: NatsBroker) -> None:
        async def handle(command: AcceptOffer) -> dict:
            try:
                booking = await self.accept(command)
            except BookingError as error:
                log.info("refused: %s", error.code)
                return problem(error.code, error.indonesian(), error.english(), retry_after=error.retry_after)
            return {"booking": booking.model_dump(mode="json")}

        serve(broker, Commands.ACCEPT_OFFER, AcceptOffer, handle, queue="booking", max_workers=64)

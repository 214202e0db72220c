"""A booking request in domain terms: the aggregates it reads and the new booking."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from shared.events import RequestBooking
from shared.pseudonyms import Pseudonyms

from .accounts import Account, DeviceBinding
from .domain import Booking, NikClaim


def booking_id_of(command: RequestBooking) -> UUID:
    """The booking a request makes (or finds, when it is a retry)."""
    return Booking.id_for(Account.id_for(command.caller.provider, command.caller.subject), command.idempotency_key)


def aggregates_of(command: RequestBooking, pseudonyms: Pseudonyms) -> list[UUID]:
    """Every aggregate a booking request reads: its booking, account, device binding and NIK claims."""
    account_id = Account.id_for(command.caller.provider, command.caller.subject)
    return [
        booking_id_of(command),
        account_id,
        DeviceBinding.id_for(command.caller.device_id),
        *(NikClaim.id_for(a.nik, pseudonyms) for a in command.applicants),
    ]


def new_booking(account_id: UUID, command: RequestBooking, now: dt.datetime) -> Booking:
    return Booking(
        account_id=account_id,
        idempotency_key=command.idempotency_key,
        office=command.slot.office,
        day=command.slot.date,
        session=command.slot.session.value,
        kk_number=command.kk_number,
        applicants=[a.model_dump(mode="json") for a in command.applicants],
        correlation_id=str(command.correlation_id),
        at=now,
        waitlist=command.waitlist,
        fallbacks=[s.value for s in command.fallbacks],
    )

"""A booking request in domain terms: the aggregates it reads, the new booking, why a date is closed."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from shared.calendar import holiday_on
from shared.events import RequestBooking

from .accounts import Account, DeviceBinding
from .domain import Booking, NikClaim


def aggregates_of(command: RequestBooking) -> list[UUID]:
    """Every aggregate a booking request reads: its booking, account, device binding and NIK claims."""
    account_id = Account.id_for(command.caller.provider, command.caller.subject)
    return [
        Booking.id_for(account_id, command.idempotency_key),
        account_id,
        DeviceBinding.id_for(command.caller.device_id),
        *(NikClaim.id_for(a.nik) for a in command.applicants),
    ]


def closed_because(day: dt.date) -> tuple[str, str] | None:
    """Why offices are closed on a date (English, Indonesian), or None on an office day."""
    if day.weekday() >= 5:
        return "weekend", "akhir pekan"
    holiday = holiday_on(day)
    return (holiday.name_en, holiday.name_id) if holiday else None


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
    )

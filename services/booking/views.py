"""What the booking service answers: plain wire views of its aggregates."""

from __future__ import annotations

import datetime as dt
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.events import (
    BookingStatus,
    BookingView,
    HistoryEntry,
    PaymentStatus,
    PaymentView,
    ProfileView,
    RegistrationsView,
    Slot,
    TermsView,
)
from shared.offices import office_by_code

from .accounts import Account
from .domain import Booking, Rules


def booking_view(booking: Booking, rules: Rules) -> BookingView:
    """A booking as its owner sees it, with its session's times in the office's time zone."""
    zone = office_by_code(booking.office).timezone
    starts, ends = rules.session_times(booking.day, booking.session, ZoneInfo(zone))
    closes = rules.draw_closes(booking.day, ZoneInfo(zone), booking.history[0][1])
    waiting = closes is not None and booking.status == "requested"
    return BookingView(
        booking_id=booking.id,
        slot=Slot(office=booking.office, date=booking.day, session=booking.session),
        status=BookingStatus(booking.status),
        applicants=len(booking.applicants),
        queue_number=booking.queue_number or booking.held_number,  # offered: the number held for it
        reason=booking.reason,
        history=[HistoryEntry(status=s, at=at, detail=d) for s, at, d in booking.history],
        starts_at=starts,
        ends_at=ends,
        timezone=zone,
        waiting_for_draw=waiting,
        draw_closes_at=closes if waiting else None,
        hold_until=booking.hold_until if booking.status == "offered" else None,
        payment=payment_view(booking),
        ticket_for=booking.holder if booking.rescheduled else None,
    )


def payment_view(booking: Booking) -> PaymentView | None:
    """The fee a confirmed booking owes (None before it is billed, or when no fee is asked)."""
    if booking.billing_code is None or booking.fee is None or booking.pay_by is None:
        return None
    if booking.paid_at is not None:
        status = PaymentStatus.PAID
    else:
        status = PaymentStatus.EXPIRED if booking.status == "voided" else PaymentStatus.UNPAID
    return PaymentView(
        billing_code=booking.billing_code,
        amount=booking.fee,
        deadline=booking.pay_by,
        status=status,
        paid_at=booking.paid_at,
    )


def profile_view(account: Account) -> ProfileView | None:
    return ProfileView.model_validate(account.profile) if account.profile else None


def terms_view(account: Account, current: str) -> TermsView:
    version, at = account.terms or (None, None)
    return TermsView(
        current_version=current, accepted_version=version, accepted_at=at, accepted=not current or version == current
    )


def registrations_view(account: Account, now: dt.datetime, rules: Rules) -> RegistrationsView:
    state = account.registrations_left(now, rules)
    return RegistrationsView(
        used=state.used,
        limit=rules.max_registrations,
        left=state.left,
        next_allowed_at=state.next_allowed_at,
        cooldown_until=state.cooldown_until,
        active_booking_id=UUID(state.active_booking) if state.active_booking else None,
    )

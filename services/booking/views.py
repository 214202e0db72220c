"""What the booking service answers: plain wire views of its aggregates."""

from __future__ import annotations

import datetime as dt
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.events import (
    BookingStatus,
    BookingView,
    HistoryEntry,
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
        queue_number=booking.queue_number,
        reason=booking.reason,
        history=[HistoryEntry(status=s, at=at, detail=d) for s, at, d in booking.history],
        starts_at=starts,
        ends_at=ends,
        timezone=zone,
        waiting_for_draw=waiting,
        draw_closes_at=closes if waiting else None,
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

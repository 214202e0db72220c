"""With release draws on, the gateway's calendar, the booking service's date check and the quota agree.

Around one date's release, at the instants where the rule changes: before the draw window the date is
not released for all three; from the window's first microsecond the calendar shows it open, the booking
service accepts a request for it and the quota puts that request in the date's waiting room; after the
window the quota decides at once. Fixed dates only: no wall clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from support import bookable_day

from services.booking.domain import Rules
from services.booking.errors import BookingError
from services.gateway.availability import AvailabilityView
from services.quota.application import QuotaApplication
from services.quota.draws import DrawDesk, seeds_from_key
from shared.calendar import closed_because
from shared.draw import DrawWindow
from shared.events import BookingRequested, Slot
from shared.offices import office_by_code
from shared.release import ReleaseSchedule

OFFICE = office_by_code("DENPASAR")  # WITA: the office's own time zone counts
ZONE = ZoneInfo(OFFICE.timezone)
DAY = bookable_day(90)
WINDOW = DrawWindow()
TICK = dt.timedelta(microseconds=1)


def test_the_calendar_booking_and_quota_agree_around_a_release_with_a_draw():
    schedule = ReleaseSchedule()
    view = AvailabilityView(schedule.window_days, schedule.release_time, WINDOW.before)
    rules = Rules(draw=WINDOW)
    quota = QuotaApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        schedule=schedule,
        draws=DrawDesk(WINDOW, seeds_from_key(b"the agreement test's draw key 32b"), schedule),
    )
    release = schedule.opens_at(DAY, ZONE).astimezone(dt.UTC)
    moments = [
        WINDOW.opens(release) - TICK,
        WINDOW.opens(release),
        release,
        WINDOW.closes(release) - TICK,
        WINDOW.closes(release),
    ]
    shown = [view.session(OFFICE, DAY, "pagi", now).reason for now in moments]
    booked = [refusal(rules, now) for now in moments]
    decided = [quota_says(quota, now) for now in moments]
    assert shown == ["not_released", None, None, None, None]
    assert booked == ["not_released", None, None, None, None]
    assert decided == ["not_released", "waiting", "waiting", "waiting", "reserved"]


def refusal(rules: Rules, now: dt.datetime) -> str | None:
    try:
        rules.check_date(DAY, now.astimezone(ZONE), closed_because(DAY))
    except BookingError as error:
        return error.code
    return None


def quota_says(quota: QuotaApplication, now: dt.datetime) -> str:
    request = BookingRequested(
        booking_id=uuid.uuid4(), slot=Slot(office=OFFICE.code, date=DAY, session="pagi"), applicants=1
    )
    quota.apply_batch([request], now)
    if quota.waiting(request) is not None:
        return "waiting"
    session = quota.session_of(request.slot)
    return (
        "reserved" if session.queue_number(str(request.booking_id)) else str(session.rejection(str(request.booking_id)))
    )

"""The calendar the gateway shows, the booking service's date check and the quota's decision agree.

All three ask one rule (`shared/release.py`). They are compared for every office, every day of a
90-day stretch (weekends, Christmas and New Year included), several release times, at the instants
around each date's release (1 µs before, at, 1 µs after) and around the end of the date itself.
Fixed dates only: no wall clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from services.booking.domain import Rules
from services.booking.errors import BookingError
from services.gateway.availability import AvailabilityView
from services.quota.application import QuotaApplication
from shared.calendar import closed_because, is_office_day
from shared.events import BookingRequested, Slot
from shared.offices import Office, load_offices
from shared.release import DATE_PAST, NOT_RELEASED, OFFICE_CLOSED, ReleaseSchedule

FIRST_DAY = dt.date(2026, 12, 1)
DAYS = [FIRST_DAY + dt.timedelta(days=n) for n in range(90)]
WINDOW_DAYS = 60
RELEASE_TIMES = [dt.time(0, 0), dt.time(8, 0), dt.time(23, 59, 59, 999999)]
TICK = dt.timedelta(microseconds=1)
# What each service must say at the five instants `instants` gives, for an office day and a closed day.
ON_AN_OFFICE_DAY = [NOT_RELEASED, None, None, None, DATE_PAST]
ON_A_CLOSED_DAY = [OFFICE_CLOSED, OFFICE_CLOSED, OFFICE_CLOSED, OFFICE_CLOSED, DATE_PAST]


def instants(schedule: ReleaseSchedule, office: Office, day: dt.date) -> list[dt.datetime]:
    """1 µs before the date's release, the release, 1 µs after it; the date's last µs, and the next midnight (UTC)."""
    zone = ZoneInfo(office.timezone)
    opens = schedule.opens_at(day, zone)
    over = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), zone)
    return [moment.astimezone(dt.UTC) for moment in (opens - TICK, opens, opens + TICK, over - TICK, over)]


def shown_by_the_gateway(view: AvailabilityView, office: Office, day: dt.date, now: dt.datetime) -> str | None:
    session = view.session(office, day, "pagi", now)
    assert session.open == (session.reason is None)
    return session.reason


def refused_by_booking(rules: Rules, office: Office, day: dt.date, now: dt.datetime) -> str | None:
    try:
        rules.check_date(day, now.astimezone(ZoneInfo(office.timezone)), closed_because(day))
    except BookingError as refusal:
        return refusal.code
    return None


def decided_by_quota(app: QuotaApplication, office: Office, day: dt.date, now: dt.datetime) -> str | None:
    """The quota service's decision on one request: None when it reserved a slot, else the reason."""
    request = BookingRequested(
        booking_id=uuid.uuid4(), slot=Slot(office=office.code, date=day, session="pagi"), applicants=1
    )
    (session,) = app.apply_batch([request], now)
    booking_id = str(request.booking_id)
    return None if session.queue_number(booking_id) is not None else session.rejection(booking_id)


@pytest.mark.parametrize("release_time", RELEASE_TIMES, ids=str)
def test_the_calendar_booking_and_quota_agree_on_every_date_of_every_office(release_time):
    schedule = ReleaseSchedule(WINDOW_DAYS, release_time)
    view = AvailabilityView(WINDOW_DAYS, release_time)
    rules = Rules(window_days=WINDOW_DAYS, release_time=release_time)
    quota = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, schedule=schedule)
    for office in load_offices():
        for day in DAYS:
            moments = instants(schedule, office, day)
            shown = [shown_by_the_gateway(view, office, day, now) for now in moments]
            assert shown == (ON_AN_OFFICE_DAY if is_office_day(day) else ON_A_CLOSED_DAY), (office.code, day)
            assert [refused_by_booking(rules, office, day, now) for now in moments] == shown, (office.code, day)
            assert [quota.refusal(office, day, now) for now in moments] == shown, (office.code, day)


@pytest.mark.parametrize("release_time", RELEASE_TIMES, ids=str)
def test_the_quota_decides_a_request_as_the_calendar_showed_it_in_each_time_zone(release_time):
    schedule = ReleaseSchedule(WINDOW_DAYS, release_time)
    view = AvailabilityView(WINDOW_DAYS, release_time)
    quota = QuotaApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, schedule=schedule)
    one_per_zone = {office.timezone: office for office in load_offices()}.values()
    for office in one_per_zone:
        for day in DAYS:
            for now in instants(schedule, office, day):
                assert decided_by_quota(quota, office, day, now) == shown_by_the_gateway(view, office, day, now)


def test_a_date_opens_at_the_release_time_in_its_office_s_own_time_zone():
    schedule = ReleaseSchedule(window_days=30, release_time=dt.time(8, 0))
    day = dt.date(2026, 12, 31)
    wib_opens = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 08:00 in Jakarta (UTC+7)
    assert schedule.refusal_at(day, wib_opens - TICK, "Asia/Jakarta") == NOT_RELEASED
    assert schedule.refusal_at(day, wib_opens, "Asia/Jakarta") is None
    assert schedule.refusal_at(day, wib_opens, "Asia/Jayapura") is None  # 10:00 in Jayapura: open two hours ago
    assert schedule.refusal_at(day, wib_opens, "Asia/Makassar") is None
    assert schedule.refusal_at(day, wib_opens - dt.timedelta(hours=1, microseconds=1), "Asia/Makassar") == NOT_RELEASED


def test_a_release_rule_needs_an_aware_now_and_a_local_release_time():
    with pytest.raises(ValueError, match="aware"):
        ReleaseSchedule().refusal_at(dt.date(2026, 12, 31), dt.datetime(2026, 12, 1, 8, 0), "Asia/Jakarta")
    with pytest.raises(ValueError, match="local time"):
        ReleaseSchedule(release_time=dt.time(8, 0, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="zero days or more"):
        ReleaseSchedule(window_days=-1)

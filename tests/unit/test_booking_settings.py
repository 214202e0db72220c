"""The booking service reads the quota service's release schedule, so that both judge a date alike."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_story import World, nik

from services.booking.errors import NotYetReleased
from services.booking.main import BookingSettings, build_application, rules_from


def test_the_release_window_and_time_are_the_quota_services_own_settings(monkeypatch):
    monkeypatch.setenv("PASPOR_QUOTA_WINDOW_DAYS", "14")
    monkeypatch.setenv("PASPOR_QUOTA_RELEASE_TIME", "09:00")
    world = World(rules_from(BookingSettings()), now=dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    siti = world.signed_up("siti")  # it is 08:00 in Jakarta
    in_two_weeks = dt.date(2026, 3, 16)  # opens today at 09:00, Jakarta time

    with pytest.raises(NotYetReleased) as caught:
        world.book(siti, [nik(1)], day=in_two_weeks)

    assert caught.value.retry_after == dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    world.now = caught.value.retry_after
    assert world.book(siti, [nik(1)], day=in_two_weeks).status.value == "requested"


def test_the_booking_service_keeps_a_bounded_number_of_aggregates_in_memory(monkeypatch, tmp_path):
    monkeypatch.setenv("PASPOR_BOOKING_CACHE_SIZE", "2000")
    app = build_application(BookingSettings(data_dir=tmp_path, event_store="sqlite"))
    try:
        assert app.repository.cache is not None and app.repository.cache.maxsize == 2000
    finally:
        app.close()
    monkeypatch.setenv("PASPOR_BOOKING_CACHE_SIZE", "10")
    with pytest.raises(ValueError, match="greater than or equal to 1000"):
        BookingSettings()

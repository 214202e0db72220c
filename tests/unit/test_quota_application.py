"""The quota application on every event store: batches, idempotency, operators, races."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from eventsourcing.persistence import IntegrityError
from support import NOW, TODAY, bookable_day

from services.quota.application import QuotaApplication
from services.quota.domain import SessionQuota
from shared.events import BookingCancelled, BookingRequested, Slot
from shared.offices import office_by_code
from shared.runtime.store import store_env


def quota_app(settings) -> QuotaApplication:
    return QuotaApplication(env=store_env(settings, "quota"))


def requests(
    n: int, office: str = "GRESIK", day: dt.date | None = None, session: str = "pagi"
) -> list[BookingRequested]:
    slot = Slot(office=office, date=day or bookable_day(5), session=session)
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(n)]


def cancellation(request: BookingRequested) -> BookingCancelled:
    return BookingCancelled(booking_id=request.booking_id, slot=request.slot, was_confirmed=True)


def session_of(app: QuotaApplication, request: BookingRequested) -> SessionQuota:
    slot = request.slot
    return app.quota(office_by_code(slot.office), slot.date, slot.session.value)


def test_a_rush_bigger_than_the_session_fills_it_exactly_once(store_settings):
    app = quota_app(store_settings)
    rush = requests(130)
    for start in range(0, 130, 40):
        app.apply_batch(rush[start : start + 40], NOW)
    quota = session_of(app, rush[0])
    assert quota.booked == 100 == quota.capacity
    assert sorted(quota.reservations.values()) == list(range(1, 101))
    assert len(quota.rejections) == 30 and set(quota.rejections.values()) == {"sold_out"}


def test_a_redelivered_batch_changes_nothing(store_settings):
    app = quota_app(store_settings)
    batch = requests(10)
    app.apply_batch(batch, NOW)
    version = session_of(app, batch[0]).version
    app.apply_batch(batch + batch[:3], NOW)
    assert session_of(app, batch[0]).version == version


def test_replay_from_the_store_rebuilds_the_same_state(store_settings):
    app = quota_app(store_settings)
    batch = requests(120)
    app.apply_batch(batch[:70], NOW)
    app.apply_batch([cancellation(batch[3])], NOW)
    app.apply_batch(batch[70:], NOW)
    cached = session_of(app, batch[0])
    rebuilt = None
    for event in app.events.get(cached.id):  # from the store, not the cache
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.reservations == cached.reservations and rebuilt.rejections == cached.rejections
    assert rebuilt.released == cached.released and batch[3].booking_id.int in rebuilt.released
    assert rebuilt.released.count == 1 and rebuilt.version == cached.version


def test_a_cancellation_frees_its_slot_for_the_next_request(store_settings):
    app = quota_app(store_settings)
    first = requests(100)
    app.apply_batch(first, NOW)
    late = requests(1)
    app.apply_batch([cancellation(first[41]), *late], NOW)
    quota = session_of(app, first[0])
    assert quota.queue_number(str(late[0].booking_id)) == 42 and quota.booked == 100


def test_lowering_capacity_below_what_is_booked_keeps_every_booking_and_refuses_new_ones(store_settings):
    app = quota_app(store_settings)
    booked = requests(60)
    app.apply_batch(booked, NOW)
    day = booked[0].slot.date
    app.change_capacity("GRESIK", day, ["pagi"], 50, by="operator@kanim")
    more = requests(1, day=day)
    app.apply_batch(more, NOW)
    quota = session_of(app, booked[0])
    assert quota.booked == 60 and quota.capacity == 50
    assert quota.rejection(str(more[0].booking_id)) == "sold_out"


def test_closing_a_session_withdraws_every_reservation_and_refuses_new_ones(store_settings):
    app = quota_app(store_settings)
    booked = requests(5)
    app.apply_batch(booked, NOW)
    app.close_sessions("GRESIK", booked[0].slot.date, ["pagi"], "flooded office", by="operator@kanim")
    late = requests(1, day=booked[0].slot.date)
    app.apply_batch(late, NOW)
    quota = session_of(app, booked[0])
    assert quota.closed and quota.booked == 0 and quota.remaining == 0
    assert quota.rejection(str(late[0].booking_id)) == "office_closed"


@pytest.mark.parametrize(
    "day, reason",
    [
        (TODAY - dt.timedelta(days=1), "date_past"),
        (bookable_day(200), "not_released"),  # an office day, so that only the window refuses it
    ],
)
def test_dates_outside_the_release_window_are_rejected_with_their_reason(store_settings, day, reason):
    app = quota_app(store_settings)
    (request,) = requests(1, day=day)
    app.apply_batch([request], NOW)
    assert session_of(app, request).rejection(str(request.booking_id)) == reason


def test_a_weekend_is_closed():
    from shared.runtime.settings import CommonSettings

    app = quota_app(CommonSettings(event_store="memory"))
    saturday = bookable_day(3)
    while saturday.weekday() != 5:
        saturday += dt.timedelta(days=1)
    (request,) = requests(1, day=saturday)
    app.apply_batch([request], NOW)
    assert session_of(app, request).rejection(str(request.booking_id)) == "office_closed"


def test_a_second_writer_with_a_stale_view_is_refused_by_the_event_store(store_settings):
    if store_settings.event_store == "memory":
        pytest.skip("two applications share a store only on SQLite and PostgreSQL")
    first, second = quota_app(store_settings), quota_app(store_settings)
    batch = requests(3)
    first.apply_batch(batch[:1], NOW)  # first caches the session
    second.apply_batch(batch[1:2], NOW)  # a second writer moves it on behind first's back
    with pytest.raises(IntegrityError):
        first.apply_batch(batch[2:], NOW)
    first.apply_batch(batch[2:], NOW)  # the stale copy was dropped: it reloads and succeeds
    assert sorted(session_of(quota_app(store_settings), batch[0]).reservations.values()) == [1, 2, 3]


def test_a_request_decided_before_is_known_from_the_cache_alone():
    from shared.runtime.settings import CommonSettings

    app = quota_app(CommonSettings(event_store="memory"))
    decided, waiting = requests(1), requests(1)
    app.apply_batch(decided, NOW)
    assert app.decided_before(decided[0]), "its JetStream copy after the fast path needs no trip to the writer"
    assert not app.decided_before(waiting[0]), "same session, not decided yet"
    assert not app.decided_before(cancellation(decided[0])), "a cancellation is always handled"
    assert not app.decided_before(requests(1, office="JKT-SEL")[0]), "a session not in the cache"

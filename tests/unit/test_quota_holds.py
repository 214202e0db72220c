"""Holds on the quota application, on every event store: they lapse by the clock and survive a restart."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support import NOW, bookable_day

from services.quota.application import QuotaApplication
from services.quota.holds import accept_hold, find_waitlists, settle_due
from services.quota.waitlist import NoActiveHold
from services.quota.wire import to_wire
from shared.events import (
    BookingCancelled,
    BookingRequested,
    Slot,
    SlotRejected,
    SlotReleased,
    SlotReserved,
    SlotsDecided,
)
from shared.events.waitlist import SlotOffered, SlotWaitlisted
from shared.runtime.store import store_env

SLOT = Slot(office="GRESIK", date=bookable_day(5), session="pagi")


def quota_app(settings) -> QuotaApplication:
    app = QuotaApplication(env=store_env(settings, "quota"), snapshot_every=2)
    app.hold = dt.timedelta(minutes=15)
    return app


def asks(n: int, waitlist: bool = False) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=SLOT, applicants=1, waitlist=waitlist) for _ in range(n)]


def full_with_waitlist(app: QuotaApplication) -> tuple[list[BookingRequested], list[BookingRequested]]:
    app.change_capacity("GRESIK", SLOT.date, ["pagi"], 2, "operator")
    booked, waiting = asks(2), asks(2, waitlist=True)
    app.apply_batch(booked + waiting, NOW)
    return booked, waiting


def cancel(request: BookingRequested) -> BookingCancelled:
    return BookingCancelled(booking_id=request.booking_id, slot=request.slot, was_confirmed=True)


def wire(app: QuotaApplication) -> list:
    events = app.recorder.select_notifications(1, 1000)
    messages = [m for n in events for _, m in to_wire(app.mapper.to_domain_event(n), 8)]
    return [e for m in messages for e in (m.expand() if isinstance(m, SlotsDecided) else [m])]


def test_a_cancellation_offers_the_place_and_the_hold_lapses_on_the_tick(store_settings):
    app = quota_app(store_settings)
    booked, (a, b) = full_with_waitlist(app)
    app.apply_batch([cancel(booked[0])], NOW)
    assert settle_due(app, NOW + dt.timedelta(minutes=14)) == []
    (changed,) = settle_due(app, NOW + dt.timedelta(minutes=15))
    assert list(changed.holds) == [str(b.booking_id)]
    kinds = [
        (type(m).__name__, str(m.booking_id)) for m in wire(app) if not isinstance(m, (SlotReserved, SlotReleased))
    ]
    assert kinds == [
        ("SlotWaitlisted", str(a.booking_id)),
        ("SlotWaitlisted", str(b.booking_id)),
        ("SlotOffered", str(a.booking_id)),
        ("SlotRejected", str(a.booking_id)),
        ("SlotOffered", str(b.booking_id)),
    ]


def test_an_accepted_hold_is_answered_as_the_relay_will_publish_it(store_settings):
    app = quota_app(store_settings)
    booked, (a, b) = full_with_waitlist(app)
    app.apply_batch([cancel(booked[1])], NOW)
    with pytest.raises(NoActiveHold):
        accept_hold(app, SLOT, str(b.booking_id), NOW)
    answer = accept_hold(app, SLOT, str(a.booking_id), NOW + dt.timedelta(minutes=5))
    assert isinstance(answer, SlotReserved) and answer.queue_number == 2
    published = [m for m in wire(app) if isinstance(m, SlotReserved) and m.booking_id == a.booking_id]
    assert [m.message_id for m in published] == [answer.message_id]


def test_a_hold_accepted_too_late_lapses_there_and_then(store_settings):
    app = quota_app(store_settings)
    booked, (a, b) = full_with_waitlist(app)
    app.apply_batch([cancel(booked[0])], NOW)
    answer = accept_hold(app, SLOT, str(a.booking_id), NOW + dt.timedelta(minutes=15))
    assert isinstance(answer, SlotRejected) and answer.reason.value == "hold_lapsed"
    assert list(app.session_of(SLOT).holds) == [str(b.booking_id)]


def test_a_restarted_worker_finds_its_holds_in_the_store_and_lapses_them_on_time(store_settings, tmp_path):
    if store_settings.event_store == "memory":
        pytest.skip("an in-memory store does not outlive its application")
    app = quota_app(store_settings)
    booked, (a, b) = full_with_waitlist(app)
    app.apply_batch([cancel(booked[0])], NOW)
    app.close()
    again = quota_app(store_settings)
    again.holding |= find_waitlists(again)
    assert settle_due(again, NOW + dt.timedelta(minutes=10)) == []
    (changed,) = settle_due(again, NOW + dt.timedelta(minutes=15))
    assert list(changed.holds) == [str(b.booking_id)] and changed.holds[str(b.booking_id)]["queue_number"] == 1
    offered = [m for m in wire(again) if isinstance(m, (SlotOffered, SlotWaitlisted))]
    assert len(offered) == 4

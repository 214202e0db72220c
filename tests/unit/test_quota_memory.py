"""A quota worker's memory stays bounded after a rush, and its decisions stay the same through restarts."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest
from support import NOW, bookable_day

from services.quota.application import QuotaApplication
from services.quota.domain import SessionQuota
from services.quota.rejections import Rejections, Releases
from services.quota.wire import decision_of
from shared.events import BookingCancelled, BookingRequested, Slot
from shared.offices import office_by_code
from shared.runtime.store import store_env

HORIZON = dt.timedelta(minutes=15)
CAPACITY = 10
OVERSUBSCRIBED = 100  # the rush of issue 18, scaled down: 10 places, 1,000 requests


def worker(settings, snapshot_every: int = 5) -> QuotaApplication:
    """A quota worker's application, as started on the given store (a restart is a new one)."""
    return QuotaApplication(env=store_env(settings, "quota"), horizon=HORIZON, snapshot_every=snapshot_every)


def rush(n: int, slot: Slot) -> list[BookingRequested]:
    return [BookingRequested(booking_id=uuid.uuid4(), slot=slot, applicants=1) for _ in range(n)]


def session(app: QuotaApplication, slot: Slot) -> SessionQuota:
    quota = app.quota(office_by_code(slot.office), slot.date, slot.session.value)
    assert quota is not None
    return quota


def answers(app: QuotaApplication, requests: list[BookingRequested]) -> list[tuple[int | None, str | None]]:
    """What the worker answers each request (the fast path's reply): its queue number or its refusal."""
    quota = session(app, requests[0].slot)
    told = (decision_of(quota, r, NOW) for r in requests)
    return [(getattr(d, "queue_number", None), getattr(d, "reason", None)) for d in told]


def test_a_worker_restarted_after_a_100x_rush_replays_from_its_snapshot_and_decides_the_same(store_settings):
    if store_settings.event_store == "memory":
        pytest.skip("a restarted worker finds its store again only on SQLite and PostgreSQL")
    slot = Slot(office="GRESIK", date=bookable_day(5), session="pagi")
    first = worker(store_settings)
    first.change_capacity("GRESIK", slot.date, ["pagi"], CAPACITY, by="operator@kanim")
    requests = rush(CAPACITY * OVERSUBSCRIBED, slot)
    for i in range(0, len(requests), 50):  # the rush, one batch a second
        first.apply_batch(requests[i : i + 50], NOW + dt.timedelta(seconds=i // 50))
    before = session(first, slot)
    told = answers(first, requests)
    assert before.booked == CAPACITY and before.rejections.count == len(requests) - CAPACITY
    assert sorted(n for n, _ in told if n) == list(range(1, CAPACITY + 1))

    # Twenty minutes on, the worker forgets the refused ids (not how many): its memory is the reservations.
    assert first.compact(NOW + dt.timedelta(minutes=20)) == len(requests) - CAPACITY
    assert len(before.rejections) == 0 and before.rejections.count == len(requests) - CAPACITY

    # Restarted: the session comes from its latest snapshot and the events after it, not from its history.
    again = worker(store_settings)
    latest = next(iter(again.snapshots.get(before.id, desc=True, limit=1)))
    after = session(again, slot)
    assert after.version == before.version and after.remaining == 0 == before.remaining
    assert after.reservations == before.reservations and after.rejections.count == before.rejections.count
    # Snapshots live in a table of their own: the relay and the audit, reading the events' log, never see one.
    logged = again.recorder.select_notifications(1, 100_000)
    assert len(logged) == before.version and not any("Snapshot" in n.topic for n in logged)
    assert latest.originator_version == before.version  # the worker snapshotted it again once it forgot
    assert len(after.rejections) == 0  # it comes back as small as it was
    later = NOW + dt.timedelta(minutes=40)

    # Every copy of the rush, redelivered long after the horizon, is answered as before and changes nothing.
    again.apply_batch(requests, later)
    assert session(again, slot).version == before.version
    assert answers(again, requests) == told


def test_a_refused_request_replayed_after_the_horizon_never_takes_a_freed_place(store_settings):
    slot = Slot(office="GRESIK", date=bookable_day(6), session="siang")
    app = worker(store_settings)
    app.change_capacity("GRESIK", slot.date, ["siang"], 2, by="operator@kanim")
    held, refused = rush(2, slot), rush(30, slot)
    app.apply_batch(held + refused, NOW)
    later = NOW + dt.timedelta(hours=2)
    app.compact(later)
    newcomer = rush(1, slot)
    cancelled = BookingCancelled(booking_id=held[0].booking_id, slot=slot, was_confirmed=True)
    # A place is freed, then a refused request's copy comes back (a relay replaying its outbox) before a new one.
    app.apply_batch([cancelled, *refused, *newcomer], later)
    quota = session(app, slot)
    assert [quota.queue_number(str(r.booking_id)) for r in refused] == [None] * 30
    assert {quota.rejection(str(r.booking_id)) for r in refused} == {"sold_out"}
    assert quota.queue_number(str(newcomer[0].booking_id)) == 1  # the freed place goes to the new request
    assert quota.rejections.count == 30  # the copies were not counted again


def test_cancelled_bookings_are_forgotten_after_the_horizon_and_their_copies_still_change_nothing(store_settings):
    slot = Slot(office="GRESIK", date=bookable_day(8), session="pagi")
    app = worker(store_settings)
    app.change_capacity("GRESIK", slot.date, ["pagi"], 3, by="operator@kanim")
    booked = rush(3, slot)
    app.apply_batch(booked, NOW)
    cancelled = [BookingCancelled(booking_id=b.booking_id, slot=slot, was_confirmed=True) for b in booked]
    app.apply_batch(cancelled, NOW + dt.timedelta(minutes=1))  # citizens turn a whole session over
    quota = session(app, slot)
    assert quota.remaining == 3 and quota.released.count == 3 and len(quota.released) == 3

    # An hour on, the session keeps only how many it released, as it does for refusals.
    later = NOW + dt.timedelta(hours=1)
    assert app.compact(later) == 3
    assert len(quota.released) == 0 and quota.released.count == 3

    # The requests' copies (a relay replaying its outbox) and the cancellations' copies come back: the store
    # says each was decided and given back; no place is taken, and no cancellation is found lost.
    newcomer = rush(1, slot)
    app.apply_batch([*booked, *cancelled, *newcomer], later)
    quota = session(app, slot)
    assert [quota.queue_number(str(b.booking_id)) for b in booked] == [None] * 3
    assert quota.queue_number(str(newcomer[0].booking_id)) == 1 and quota.remaining == 2
    assert app.ownership.unmatched == 0, "the store says each was released: nothing odd"
    assert quota.released.count == 3, "the copies are not counted as releases again"


def test_without_a_horizon_every_refused_id_stays_remembered(store_settings):
    slot = Slot(office="GRESIK", date=bookable_day(7), session="pagi")
    app = QuotaApplication(env=store_env(store_settings, "quota"), horizon=None, snapshot_every=0)
    app.change_capacity("GRESIK", slot.date, ["pagi"], 1, by="operator@kanim")
    app.apply_batch(rush(20, slot), NOW)
    assert app.compact(NOW + dt.timedelta(days=1)) == 0 and len(session(app, slot).rejections) == 19
    assert app.snapshots is None


def test_a_forgotten_refusal_is_always_found_and_a_new_request_rarely_looked_up():
    rejections = Rejections()
    refused = [uuid.uuid4().int for _ in range(5000)]
    for key in refused:
        rejections.add(key, "sold_out", NOW)
    assert rejections.forget(NOW + dt.timedelta(seconds=1)) == 5000 and len(rejections) == 0
    assert all(rejections.may_have_forgotten(key) for key in refused)  # no false "never refused"
    strangers = sum(rejections.may_have_forgotten(uuid.uuid4().int) for _ in range(5000))
    assert strangers < 150  # about 1% are looked up in the store for nothing
    kept = Rejections.from_state(rejections.to_state())
    assert kept == rejections and all(kept.may_have_forgotten(key) for key in refused[:100])


def test_refusals_forgotten_a_few_at_a_time_share_a_few_filters():
    rejections = Rejections()
    refused = []
    for minute in range(200):  # a sold-out session refusing a few requests every minute for hours
        for _ in range(7):
            refused.append(uuid.uuid4().int)
            rejections.add(refused[-1], "sold_out", NOW + dt.timedelta(minutes=minute))
        rejections.forget(NOW + dt.timedelta(minutes=minute - 15))
    rejections.forget(NOW + dt.timedelta(days=1))
    assert len(rejections) == 0 and rejections.count == 1400
    assert len(rejections.filters) <= 6  # not one per forgetting: each new one as big as all before it
    assert sum(len(f.bits) for f in rejections.filters) <= 2 * 1400 * 10 // 8
    assert all(rejections.may_have_forgotten(key) for key in refused)


def test_a_snapshot_taken_before_releases_were_compact_still_knows_every_released_id():
    quota = SessionQuota("GRESIK", bookable_day(8), "pagi", 10)
    quota.__dict__["released"] = {7, 9}  # what such a snapshot decodes to (a set of 128-bit ids)
    assert quota.has_decided(str(uuid.UUID(int=7))) and quota.has_decided(str(uuid.UUID(int=9)))
    assert not quota.has_decided(str(uuid.UUID(int=8)))
    assert quota.released.count == 2
    quota.forget_rejections(NOW, HORIZON)  # no times: folded at once, the store answers for them
    assert len(quota.released) == 0 and quota.may_have_forgotten(str(uuid.UUID(int=7)))


def test_forgotten_releases_are_fingerprints_all_found_again_and_new_requests_go_to_the_store_almost_never():
    chance = random.Random(18)  # seeded: the story is the same on every run
    releases = Releases()
    gone = [chance.getrandbits(128) for _ in range(5000)]  # a session's places turned over all day
    for key in gone:
        releases.note(key, NOW)
    assert releases.forget(NOW + HORIZON) == 5000
    assert len(releases) == 0 and releases.count == 5000
    assert all(releases.may_have_forgotten(key) for key in gone), "no copy of a released request is missed"
    newcomers = [chance.getrandbits(128) for _ in range(5000)]
    assert sum(releases.may_have_forgotten(key) for key in newcomers) == 0, "Bloom filters sent ~1% to the store"
    assert Releases.from_state(json.loads(json.dumps(releases.to_state()))) == releases, "a snapshot keeps them"

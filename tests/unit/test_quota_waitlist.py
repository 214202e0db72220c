"""The waitlist of a full session: holds offered in order, counted against capacity, lapsed by the clock."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support import NOW

from services.quota.domain import SOLD_OUT, Request, SessionQuota
from services.quota.waitlist import NoActiveHold

DAY = dt.date(2027, 1, 20)
HOLD = dt.timedelta(minutes=15)


def request(waitlist: bool = False) -> Request:
    return Request(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), waitlist)


def full_session(capacity: int = 2) -> tuple[SessionQuota, list[Request]]:
    quota = SessionQuota("GRESIK", DAY, "pagi", capacity)
    booked = [request() for _ in range(capacity)]
    quota.decide(booked, at=NOW)
    return quota, booked


def test_a_waiting_request_joins_the_waitlist_of_a_full_session_and_a_plain_one_is_refused():
    quota, _ = full_session()
    waiting, plain = request(waitlist=True), request()
    decisions = quota.decide([waiting, plain], at=NOW)
    assert [d["booking_id"] for d in decisions] == [plain.booking_id] and decisions[0]["reason"] == SOLD_OUT
    assert list(quota.waiting) == [waiting.booking_id]
    assert quota.decide([waiting], at=NOW) == [] and len(quota.waiting) == 1, "a copy of the request changes nothing"


def test_a_waiting_request_with_room_left_is_simply_reserved():
    quota = SessionQuota("GRESIK", DAY, "pagi", 2)
    (decision,) = quota.decide([request(waitlist=True)], at=NOW)
    assert decision["queue_number"] == 1 and not quota.waiting


def test_a_freed_place_is_held_for_the_first_one_waiting_and_counts_against_capacity():
    quota, booked = full_session()
    a, b = request(waitlist=True), request(waitlist=True)
    quota.decide([a, b], at=NOW)
    quota.release(booked[0].booking_id, "c", "c")
    assert quota.offer_free(NOW, HOLD) == [a.booking_id]
    assert quota.holds[a.booking_id]["queue_number"] == 1 and quota.holds[a.booking_id]["deadline"] == NOW + HOLD
    assert quota.remaining == 0
    (late,) = quota.decide([request()], at=NOW)
    assert late["reason"] == SOLD_OUT, "a held place is not given to anyone else"
    assert list(quota.waiting) == [b.booking_id]


def test_a_hold_lapses_at_its_deadline_and_the_place_moves_to_the_next_one():
    quota, booked = full_session()
    a, b = request(waitlist=True), request(waitlist=True)
    quota.decide([a, b], at=NOW)
    quota.release(booked[1].booking_id, "c", "c")
    quota.settle(NOW, HOLD)
    assert not quota.settle(NOW + HOLD - dt.timedelta(seconds=1), HOLD), "nothing is due a second early"
    assert quota.settle(NOW + HOLD, HOLD)
    assert list(quota.holds) == [b.booking_id] and quota.holds[b.booking_id]["queue_number"] == 2
    assert quota.holds[b.booking_id]["deadline"] == NOW + 2 * HOLD
    assert quota.decide([a], at=NOW) == [], "a lapsed booking is never reserved again"


def test_an_accepted_hold_becomes_a_reservation_with_its_number():
    quota, booked = full_session()
    a = request(waitlist=True)
    quota.decide([a], at=NOW)
    quota.release(booked[0].booking_id, "c", "c")
    quota.settle(NOW, HOLD)
    assert quota.accept(a.booking_id, NOW + HOLD - dt.timedelta(seconds=1)) == 1
    assert quota.queue_number(a.booking_id) == 1 and not quota.holds and quota.booked == 2


def test_a_hold_cannot_be_accepted_at_or_after_its_deadline_nor_without_one():
    quota, booked = full_session()
    a, b = request(waitlist=True), request(waitlist=True)
    quota.decide([a, b], at=NOW)
    quota.release(booked[0].booking_id, "c", "c")
    quota.settle(NOW, HOLD)
    with pytest.raises(NoActiveHold):
        quota.accept(a.booking_id, NOW + HOLD)
    with pytest.raises(NoActiveHold):
        quota.accept(b.booking_id, NOW), "b waits: nothing is offered to it yet"


def test_a_waiting_or_offered_booking_that_is_cancelled_leaves_and_its_hold_goes_on():
    quota, booked = full_session()
    a, b = request(waitlist=True), request(waitlist=True)
    quota.decide([a, b], at=NOW)
    quota.release(booked[0].booking_id, "c", "c")
    quota.settle(NOW, HOLD)
    assert quota.leave(a.booking_id, NOW) and quota.settle(NOW, HOLD)
    assert list(quota.holds) == [b.booking_id] and not quota.waiting
    assert not quota.leave(a.booking_id, NOW), "gone already"


def test_a_capacity_raised_offers_the_new_places_in_waiting_order():
    quota, _ = full_session()
    waiting = [request(waitlist=True) for _ in range(3)]
    quota.decide(waiting, at=NOW)
    quota.change_capacity(4, "operator")
    assert quota.offer_free(NOW, HOLD) == [waiting[0].booking_id, waiting[1].booking_id]
    assert sorted(quota.held_numbers()) == [3, 4] and quota.remaining == 0


def test_holds_never_overbook_whatever_the_order_of_events():
    quota, booked = full_session(3)
    waiting = [request(waitlist=True) for _ in range(5)]
    quota.decide(waiting, at=NOW)
    now = NOW
    for step, freed in enumerate(booked):
        quota.release(freed.booking_id, "c", "c")
        quota.settle(now, HOLD)
        if step == 1:
            quota.accept(next(iter(quota.holds)), now)
        now += HOLD
        quota.settle(now, HOLD)
        assert quota.booked + quota.held <= quota.capacity
        numbers = list(quota.reservations.values()) + list(quota.held_numbers())
        assert len(numbers) == len(set(numbers)), "no queue number held twice"


def test_closing_the_session_turns_its_waitlist_away():
    quota, booked = full_session()
    a, b = request(waitlist=True), request(waitlist=True)
    quota.decide([a, b], at=NOW)
    quota.release(booked[0].booking_id, "c", "c")
    quota.settle(NOW, HOLD)
    quota.close("banjir", "operator")
    assert quota.turn_away("office_closed", NOW) == [a.booking_id, b.booking_id]
    assert not quota.waiting and not quota.holds

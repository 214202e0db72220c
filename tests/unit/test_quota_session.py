"""The session quota aggregate: the only judge of "is there a slot"."""

import datetime as dt
import uuid

from services.quota.domain import OFFICE_CLOSED, SOLD_OUT, ReleaseSchedule, Request, SessionQuota

DAY = dt.date(2026, 12, 7)


def requests(n: int) -> list[Request]:
    return [Request(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(n)]


def test_the_101st_booking_of_a_100_slot_session_is_sold_out():
    quota = SessionQuota("JKT-SEL", DAY, "pagi", 100)
    decisions = quota.decide(requests(101))
    numbers = [d["queue_number"] for d in decisions[:100]]
    assert sorted(numbers) == list(range(1, 101))
    assert decisions[100]["queue_number"] is None and decisions[100]["reason"] == SOLD_OUT
    assert quota.booked == 100 and quota.remaining == 0


def test_a_whole_batch_is_one_event():
    quota = SessionQuota("JKT-SEL", DAY, "pagi", 100)
    quota.collect_events()
    quota.decide(requests(40))
    assert len(quota.collect_events()) == 1


def test_a_repeated_request_changes_nothing():
    quota = SessionQuota("JKT-SEL", DAY, "pagi", 2)
    first = requests(1)
    quota.decide(first)
    quota.collect_events()
    assert quota.decide(first + first) == []
    assert quota.collect_events() == [] and quota.booked == 1


def test_a_released_slot_is_bookable_again_with_the_lowest_free_number():
    quota = SessionQuota("JKT-SEL", DAY, "siang", 2)
    a, b = requests(2)
    quota.decide([a, b])
    assert quota.release(a.booking_id, a.correlation_id, a.causation_id)
    (c,) = requests(1)
    (decision,) = quota.decide([c])
    assert decision["queue_number"] == 1
    assert quota.decide([a]) == [], "a cancelled booking is never reserved again"


def test_replay_rebuilds_the_same_state():
    quota = SessionQuota("JKT-SEL", DAY, "pagi", 3)
    quota.decide(requests(5))
    events = quota.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.reservations == quota.reservations and rebuilt.rejections == quota.rejections


def test_a_refused_date_rejects_every_request_with_that_reason():
    quota = SessionQuota("JKT-SEL", DAY, "pagi", 100)
    decisions = quota.decide(requests(3), refusal=OFFICE_CLOSED)
    assert {d["reason"] for d in decisions} == {OFFICE_CLOSED} and quota.booked == 0


def test_dates_open_on_a_rolling_window_at_the_release_time():
    schedule = ReleaseSchedule(window_days=30, release_time=dt.time(8, 0))
    day = dt.date(2026, 12, 31)
    assert schedule.refusal(day, dt.datetime(2026, 12, 1, 7, 59), True) == "not_released"
    assert schedule.refusal(day, dt.datetime(2026, 12, 1, 8, 0), True) is None
    assert schedule.refusal(day, dt.datetime(2027, 1, 1, 9, 0), True) == "date_past"
    assert schedule.refusal(day, dt.datetime(2026, 12, 20, 9, 0), False) == "office_closed"

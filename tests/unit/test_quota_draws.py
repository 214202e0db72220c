"""Release draws in the quota application, on every event store: joining, leaving, fallbacks, the clock.

The pinned dates are fixed; the quota's clock is the `now` each call is given (the worker's tick and
batches pass the service's clock).
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from support import bookable_day

from services.quota.application import QuotaApplication
from services.quota.draw import ReleaseDraw
from services.quota.draws import DrawDesk, seeds_from_key
from shared.draw import DrawWindow
from shared.events import BookingCancelled, BookingRequested, Slot
from shared.offices import office_by_code
from shared.release import ReleaseSchedule
from shared.runtime.store import store_env

OFFICE = "BANDUNG"
DAY = bookable_day(80)
SCHEDULE = ReleaseSchedule()
RELEASE = SCHEDULE.opens_at(DAY, ZoneInfo("Asia/Jakarta")).astimezone(dt.UTC)
IN_THE_WINDOW = RELEASE - dt.timedelta(minutes=2)
AFTER_IT = RELEASE + dt.timedelta(minutes=5)


def quota_app(settings, key: bytes = b"draw key of the unit tests, 32 bytes") -> QuotaApplication:
    desk = DrawDesk(DrawWindow(), seeds_from_key(key), SCHEDULE)
    return QuotaApplication(env=store_env(settings, "quota"), schedule=SCHEDULE, draws=desk)


def ask(session: str = "pagi", fallbacks: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> BookingRequested:
    return BookingRequested(
        booking_id=uuid.uuid4(),
        slot=Slot(office=OFFICE, date=DAY, session=session),
        applicants=1,
        fallbacks=list(fallbacks),
        draw_keys=list(keys),
    )


def held(app: QuotaApplication, request: BookingRequested) -> tuple[str, int] | None:
    for session in ("pagi", "siang"):
        quota = app.quota(office_by_code(OFFICE), DAY, session)
        if quota is not None and (number := quota.queue_number(str(request.booking_id))):
            return session, number
    return None


def draw_of(app: QuotaApplication) -> ReleaseDraw:
    return app.repository.get(ReleaseDraw.id_for(OFFICE, DAY))


def test_an_entry_takes_its_fallback_session_when_its_first_choice_is_full(store_settings):
    app = quota_app(store_settings)
    app.change_capacity(OFFICE, DAY, ["pagi"], 1, by="operator")
    app.change_capacity(OFFICE, DAY, ["siang"], 1, by="operator")
    flexible = [ask("pagi", fallbacks=("siang",)) for _ in range(3)]
    app.apply_batch(flexible, IN_THE_WINDOW)
    app.tick(AFTER_IT, [OFFICE])
    first, second, third = (next(r for r in flexible if str(r.booking_id) == b) for b in draw_of(app).order)
    assert (held(app, first), held(app, second), held(app, third)) == (("pagi", 1), ("siang", 1), None)


def test_a_booking_cancelled_while_it_waits_is_offered_nothing(store_settings):
    app = quota_app(store_settings)
    staying, leaving = ask(), ask()
    app.apply_batch([staying, leaving], IN_THE_WINDOW)
    cancelled = BookingCancelled(booking_id=leaving.booking_id, slot=leaving.slot, was_confirmed=False)
    app.apply_batch([cancelled], IN_THE_WINDOW + dt.timedelta(seconds=30))
    app.tick(AFTER_IT, [OFFICE])
    assert held(app, staying) == ("pagi", 1) and held(app, leaving) is None
    assert str(leaving.booking_id) in draw_of(app).order  # still drawn: the audit recomputes every entry


def test_a_second_entry_of_one_nik_waits_behind_the_draw(store_settings):
    app = quota_app(store_settings)
    app.change_capacity(OFFICE, DAY, ["pagi"], 2, by="operator")
    citizen, broker = ask(keys=("a" * 32,)), ask(keys=("b" * 32, "a" * 32))  # the broker borrows the NIK
    others = [ask(keys=(f"{i:032x}",)) for i in range(1, 4)]
    app.apply_batch([citizen, broker, *others], IN_THE_WINDOW)
    draw = draw_of(app)
    assert [e["booking_id"] for e in draw.behind] == [str(broker.booking_id)]
    app.tick(AFTER_IT, [OFFICE])
    assert held(app, broker) is None and str(broker.booking_id) not in draw_of(app).order


def test_the_fast_path_is_told_when_the_draw_decides(store_settings):
    app = quota_app(store_settings)
    request = ask()
    app.apply_batch([request], IN_THE_WINDOW)
    assert app.waiting(request) == RELEASE + dt.timedelta(minutes=5)
    app.tick(AFTER_IT, [OFFICE])
    assert app.waiting(request) is None and held(app, request) == ("pagi", 1)


def test_a_request_in_a_window_whose_draw_is_made_is_decided_not_dropped(store_settings):
    app = quota_app(store_settings)
    app.apply_batch([ask()], IN_THE_WINDOW)
    app.tick(AFTER_IT, [OFFICE])
    late = ask()
    app.apply_batch([late], RELEASE + dt.timedelta(minutes=1))  # a clock set back into the window after the draw
    assert held(app, late) == ("pagi", 2)


def test_the_commitment_comes_from_the_tick_before_the_window_opens(store_settings):
    app = quota_app(store_settings)
    app.tick(RELEASE - dt.timedelta(minutes=41), [OFFICE])  # before the commit lead: nothing yet
    with pytest.raises(Exception, match="not found"):
        draw_of(app)
    app.tick(RELEASE - dt.timedelta(minutes=39), [OFFICE])
    draw = draw_of(app)
    assert draw.opens_at == RELEASE - dt.timedelta(minutes=10) and not draw.drawn


def test_a_draw_whose_key_changed_is_not_made_and_reveals_no_other_seed(store_settings):
    app = quota_app(store_settings)
    waiting = ask()
    app.apply_batch([waiting], IN_THE_WINDOW)
    assert app.draws is not None
    app.draws.seeds = seeds_from_key(b"another draw key, also 32 bytes long")  # as a worker started with it
    app.tick(AFTER_IT, [OFFICE])
    assert not draw_of(app).drawn and draw_of(app).seed is None
    assert held(app, waiting) is None and app.waiting(waiting) is not None

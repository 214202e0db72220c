"""A release draw that gives citizens their fallback session, told through the booking, quota and notifier.

Three citizens ask for the morning of a date in its release window, each also taking the afternoon; the
morning has one place. The first of the draw is confirmed in the morning, the other two in the afternoon:
their bookings, tickets and the quota's reservations agree, and the audit is clean. A citizen who named no
fallback is refused instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.sample import Pipeline, request
from services.booking.errors import BookingError
from services.quota.draw import ReleaseDraw
from shared.events import RequestBooking

OFFICE = "GRESIK"
MINUTE = dt.timedelta(minutes=1)


def with_fallbacks(serial: int, day: dt.date, fallbacks: list[str]) -> RequestBooking:
    asked = request(serial, OFFICE, day, "pagi")
    return RequestBooking.model_validate(asked.model_dump() | {"fallbacks": fallbacks})


@pytest.fixture
def pipeline(tmp_path: Path):
    pipeline = Pipeline(tmp_path)
    yield pipeline
    pipeline.close()


def test_entries_whose_first_choice_fills_are_confirmed_in_their_fallback_and_ticket_and_audit_agree(pipeline):
    day = bookable_day(70)
    release = pipeline.quota.schedule.opens_at(day, ZoneInfo("Asia/Jakarta")).astimezone(dt.UTC)
    pipeline.quota.tick(release - 35 * MINUTE, [OFFICE])  # the commitment, before the window opens
    pipeline.quota.change_capacity(OFFICE, day, ["pagi"], 1, by="operator")
    pipeline.quota.change_capacity(OFFICE, day, ["siang"], 2, by="operator")
    pipeline.sign_up(range(4), release - 40 * MINUTE)
    asked = [with_fallbacks(s, day, ["siang"]) for s in range(3)] + [with_fallbacks(3, day, [])]
    views = pipeline.book(asked, release - 2 * MINUTE)
    assert not any(isinstance(v, BookingError) for v in views), views
    pipeline.pump(release - 2 * MINUTE)

    pipeline.quota.tick(release + 5 * MINUTE, [OFFICE])  # the window closed: the draw is made
    pipeline.pump(release + 5 * MINUTE)

    order = pipeline.quota.repository.get(ReleaseDraw.id_for(OFFICE, day)).order
    bookings = {str(v.booking_id): pipeline.booking.view(v.booking_id) for v in views}
    flexible = [b for b in order if b != str(views[3].booking_id)]
    fixed = bookings[str(views[3].booking_id)]
    # The morning's one place goes to whichever of the four the draw put first.
    first = bookings[order[0]]
    assert (first.status, first.slot.session.value, first.queue_number) == ("confirmed", "pagi", 1)
    in_the_afternoon = [bookings[b] for b in flexible if b != order[0]]
    assert len(in_the_afternoon) >= 2
    for view in in_the_afternoon[:2]:
        assert (view.status, view.slot.session.value) == ("confirmed", "siang"), view
    assert sorted(v.queue_number for v in in_the_afternoon[:2]) == [1, 2]
    if order[0] != str(views[3].booking_id):
        assert (fixed.status, fixed.reason) == ("rejected", "sold_out"), "no fallback: refused in the morning"

    for booking_id, view in bookings.items():
        if view.status == "confirmed":
            ticket = pipeline.notifier.ticket(uuid.UUID(booking_id))
            assert (ticket.session, ticket.queue_number) == (view.slot.session.value, view.queue_number)

    result = run_audit(pipeline.settings, Scope(grace=dt.timedelta(0)))
    assert result.ok, [f.as_dict() for f in result.findings]
    assert result.kinds["booking:Booking.Confirmed"] == 3

"""The audit names a booking left undecided too long, and the dead letters that hold it up."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.jetstream import name_dead_letters
from paspor.audit.sample import Pipeline, citizen, request
from paspor.deadletters import Parked
from shared.events import BookingCancelled, DeadLetter, utcnow


def undecided_booking(data_dir: Path) -> tuple[Pipeline, str]:
    """A booking the booking service recorded while its request never reached quota."""
    pipeline = Pipeline(data_dir)
    now = utcnow()
    pipeline.sign_up(range(1), now)
    (view,) = pipeline.booking.request_bookings([request(0, "GRESIK", bookable_day(3), "pagi")], now)
    pipeline.close()  # not pumped: quota never saw it
    return pipeline, str(view.booking_id)


def test_a_booking_undecided_longer_than_stuck_after_is_a_finding(tmp_path: Path):
    pipeline, booking_id = undecided_booking(tmp_path)
    soon = run_audit(pipeline.settings, Scope(as_of=utcnow() + dt.timedelta(minutes=5)))
    later = run_audit(pipeline.settings, Scope(as_of=utcnow() + dt.timedelta(minutes=11)))
    patient = Scope(as_of=utcnow() + dt.timedelta(minutes=11), stuck_after=dt.timedelta(minutes=30))

    assert [f.code for f in soon.findings] == [], "five minutes undecided: not yet stuck"
    (stuck,) = later.findings
    assert stuck.code == "booking_stuck_requested" and uuid.UUID(stuck.subject.split()[1]) == uuid.UUID(booking_id)
    assert stuck.evidence[0].kind == "Booking.Requested", "it points at the request in the booking store"
    assert run_audit(pipeline.settings, patient).ok, "with --stuck-after 30 it is still within its time"


def test_a_stuck_booking_names_the_dead_letters_that_hold_it_up(tmp_path: Path):
    pipeline, booking_id = undecided_booking(tmp_path)
    result = run_audit(pipeline.settings, Scope(as_of=utcnow() + dt.timedelta(minutes=11)))
    letter = DeadLetter(
        service="quota",
        source="consumer:quota-bookings",
        subject="paspor.booking.p06.requested",
        reason="failed 4 times: RuntimeError('disk full')",
        booking_ids=[booking_id],
    )
    unrelated = letter.model_copy(update={"booking_ids": [str(citizen(9).subject)]})

    name_dead_letters(result, [Parked(3, None, letter), Parked(4, None, unrelated)])

    (stuck,) = result.findings
    assert "dead letters: #3 (consumer:quota-bookings: failed 4 times" in stuck.detail
    assert "#4" not in stuck.detail


def test_a_cancellation_of_a_request_quota_never_saw_is_a_finding_naming_its_dead_letters(tmp_path: Path):
    pipeline = Pipeline(tmp_path)
    now = utcnow()
    pipeline.sign_up(range(1), now)
    (view,) = pipeline.booking.request_bookings([request(0, "GRESIK", bookable_day(3), "pagi")], now)
    pipeline.booking.cancel(citizen(0), view.booking_id, now)
    messages = pipeline._new_messages()  # the request is lost on its way (dead-lettered): only the cancellation
    pipeline._deliver([m for m in messages if isinstance(m, BookingCancelled)], now)
    pipeline.close()
    letter = DeadLetter(
        service="quota",
        source="consumer:quota-p06",
        subject="paspor.booking.p06.requested",
        reason="failed 4 times: RuntimeError('disk full')",
        booking_ids=[str(view.booking_id)],
    )

    result = run_audit(pipeline.settings, Scope(as_of=now + dt.timedelta(minutes=1)))
    name_dead_letters(result, [Parked(7, None, letter)])

    (found,) = result.findings
    assert found.code == "cancellation_found_nothing", [f.as_dict() for f in result.findings]
    assert uuid.UUID(found.subject.split()[1]) == view.booking_id
    assert found.evidence[0].kind == "Partition.NothingReleased", "it points at quota's record of the cancellation"
    assert "dead letters: #7 (consumer:quota-p06" in found.detail

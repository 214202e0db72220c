"""Rescheduling through the real services (booking, quota, notifier) on SQLite, wired by the audit's pipeline.

A move into a full session is refused and keeps the booking where it was; a move to another office,
in another quota partition, holds the new slot first and only then releases the old one: afterwards
exactly one slot is held, the new ticket is issued, and the audit is clean.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.records import open_store
from paspor.audit.sample import Pipeline, citizen, request
from services.booking.moves import move_id_for
from services.notifier.domain import Ticket
from services.quota.domain import SessionQuota
from shared.events import Slot, utcnow
from shared.events.subjects import partition_of

SETTLED = Scope(grace=dt.timedelta(0))
FROM, TO = "GRESIK", "MADIUN"


@pytest.fixture
def pipeline(tmp_path: Path):
    pipeline = Pipeline(tmp_path, "sqlite")
    yield pipeline
    pipeline.close()


def confirmed(pipeline: Pipeline, serial: int, office: str, day: dt.date, session: str):
    now = utcnow()
    pipeline.sign_up(range(serial, serial + 1), now)
    (booked,) = pipeline.book([request(serial, office, day, session)], now)
    view = pipeline.booking.view(booked.booking_id)
    assert view.status == "confirmed", view
    return view


def held(pipeline: Pipeline, office: str, day: dt.date, session: str) -> set:
    quota = pipeline.quota.repository.get(SessionQuota.id_for(office, day, session))
    return {booking for booking in quota.reservations}


def test_a_reschedule_into_a_full_session_keeps_the_old_booking(pipeline: Pipeline):
    day, later = bookable_day(6), bookable_day(13)
    pipeline.quota.change_capacity(TO, later, ["siang"], 1, by="test")
    confirmed(pipeline, 2, TO, later, "siang")  # someone else takes the one place
    before = confirmed(pipeline, 1, FROM, day, "pagi")
    pipeline.booking.reschedule(citizen(1), before.booking_id, Slot(office=TO, date=later, session="siang"), utcnow())
    pipeline.pump(utcnow())
    after = pipeline.booking.view(before.booking_id)
    assert (after.status, after.slot, after.queue_number) == ("confirmed", before.slot, before.queue_number)
    assert "refused: sold_out" in after.history[-1].detail
    assert len(held(pipeline, FROM, day, "pagi")) == 1, "the old slot is still held"
    assert len(held(pipeline, TO, later, "siang")) == 1, "only the other citizen holds the full session"
    result = run_audit(pipeline.settings, SETTLED)
    assert result.findings == [] and result.totals["slots_held"] == 2


def test_a_reschedule_across_two_partitions_holds_exactly_one_slot_and_the_audit_is_clean(pipeline: Pipeline):
    assert partition_of(FROM) != partition_of(TO)
    day, later = bookable_day(6), bookable_day(13)
    before = confirmed(pipeline, 1, FROM, day, "pagi")
    to = Slot(office=TO, date=later, session="siang")
    pipeline.booking.reschedule(citizen(1), before.booking_id, to, utcnow())
    pipeline.pump(utcnow())
    after = pipeline.booking.view(before.booking_id)
    assert (after.status, after.slot) == ("confirmed", to)
    assert held(pipeline, FROM, day, "pagi") == set(), "the old slot went back"
    assert len(held(pipeline, TO, later, "siang")) == 1
    registrations = pipeline.booking.accounts.registrations(citizen(1), utcnow())
    assert registrations.used == 1 and registrations.cooldown_until is None
    old = pipeline.notifier.repository.get(Ticket.id_for(before.booking_id))
    new = pipeline.notifier.repository.get(Ticket.id_for(move_id_for(before.booking_id)))
    assert not old.is_open and new.is_open and (new.office, new.day) == (TO, later)
    result = run_audit(pipeline.settings, SETTLED)
    assert result.findings == [] and result.unknown == {}
    assert result.totals["slots_held"] == 1


def test_a_moved_booking_whose_old_slot_was_never_released_is_caught(pipeline: Pipeline):
    day, later = bookable_day(6), bookable_day(13)
    before = confirmed(pipeline, 1, FROM, day, "pagi")
    pipeline.booking.reschedule(citizen(1), before.booking_id, Slot(office=TO, date=later, session="siang"), utcnow())
    pipeline.pump(utcnow())
    old = SessionQuota.id_for(FROM, day, "pagi")
    reader = open_store(pipeline.settings, "quota")
    table = reader.recorder.events_table_name
    reader.close()
    with sqlite3.connect(pipeline.settings.data_dir / "quota.sqlite") as db:  # the release, lost
        db.execute(
            f"DELETE FROM {table} WHERE topic LIKE ? AND originator_id = ?", ("%:SessionQuota.Released", old.hex)
        )
    assert run_audit(pipeline.settings, SETTLED).broken() == {"rescheduled_booking_holds_two_slots": 1}


@pytest.mark.parametrize("crash_after", ["requested", "reserved", "moved"])
def test_a_restart_at_any_step_of_the_saga_completes_it_with_exactly_one_slot_held(tmp_path: Path, crash_after: str):
    """Each service stops after a step and starts again on its store; its relay sends everything again."""
    day, later = bookable_day(6), bookable_day(13)
    first = Pipeline(tmp_path, "sqlite")
    before = confirmed(first, 1, FROM, day, "pagi")
    first.booking.reschedule(citizen(1), before.booking_id, Slot(office=TO, date=later, session="siang"), utcnow())
    messages = first._new_messages()  # the move's request, on its way to the new office's quota
    if crash_after in ("reserved", "moved"):
        first._deliver(messages, utcnow())  # quota reserved the new slot ...
        if crash_after == "moved":
            first._deliver(first._new_messages(), utcnow())  # ... the booking moved; its release not yet sent
            assert first.booking.view(before.booking_id).slot.office == TO
            assert len(held(first, FROM, day, "pagi")) == 1, "for a moment both are held: the release is on its way"
    first.close()  # a crash: nothing more is delivered
    again = Pipeline(tmp_path, "sqlite")  # every relay starts from the beginning: all is delivered again
    try:
        again.pump(utcnow())
        after = again.booking.view(before.booking_id)
        assert (after.status, after.slot.office) == ("confirmed", TO)
        assert held(again, FROM, day, "pagi") == set() and len(held(again, TO, later, "siang")) == 1
        result = run_audit(again.settings, SETTLED)
        assert result.findings == [] and result.totals["slots_held"] == 1
    finally:
        again.close()

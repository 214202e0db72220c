"""The audit's payment invariants: proved on an honest history of paid and voided bookings, broken by tampering."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.records import open_store
from paspor.audit.sample import Pipeline, request
from services.booking.domain import Booking
from services.quota.domain import SessionQuota
from shared.events import RecordPayment, utcnow

OFFICE = "GRESIK"
SETTLED = Scope(grace=dt.timedelta(0))


class PaidAndUnpaid:
    """Three citizens book and are confirmed; one pays, one lets the deadline pass, one pays after it."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline, self.day, now = pipeline, bookable_day(4), utcnow()
        pipeline.sign_up(range(3), now)
        views = pipeline.book([request(i, OFFICE, self.day, "siang") for i in range(3)], now)
        self.paid, self.unpaid, self.late = (pipeline.booking.view(v.booking_id) for v in views)
        self.pay(self.paid, "bank-1", now)
        deadline = self.unpaid.payment.deadline
        pipeline.booking.payments.expire([self.unpaid.booking_id, self.late.booking_id], deadline)
        self.pay(self.late, "bank-2", deadline + dt.timedelta(minutes=1))
        pipeline.pump(deadline)

    def pay(self, view, reference: str, at: dt.datetime):
        bill = view.payment
        command = RecordPayment(reference=reference, billing_code=bill.billing_code, amount=bill.amount, paid_at=at)
        return self.pipeline.booking.payments.record(command, at)

    def delete(self, store: str, kind: str, aggregate_id) -> None:
        reader = open_store(self.pipeline.settings, store)
        table = reader.recorder.events_table_name
        reader.close()
        with sqlite3.connect(self.pipeline.settings.data_dir / f"{store}.sqlite") as db:
            db.execute(f"DELETE FROM {table} WHERE topic LIKE ? AND originator_id = ?", (f"%:{kind}", aggregate_id.hex))


@pytest.fixture
def history(tmp_path: Path):
    pipeline = Pipeline(tmp_path, "sqlite")
    yield PaidAndUnpaid(pipeline)
    pipeline.close()


def test_an_honest_history_of_paid_and_voided_bookings_passes(history: PaidAndUnpaid):
    result = run_audit(history.pipeline.settings, SETTLED)
    assert result.findings == [] and result.unknown == {}
    assert result.totals["billed"] == 3 and result.totals["paid"] == 1 and result.totals["voided_unpaid"] == 2
    assert result.totals["refunds_owed"] == 1
    assert result.totals["slots_held"] == 1, "the voided bookings' slots went back"


def test_a_voided_booking_whose_release_was_deleted_holds_a_slot(history: PaidAndUnpaid):
    history.delete("quota", "SessionQuota.Released", SessionQuota.id_for(OFFICE, history.day, "siang"))
    result, live = run_audit(history.pipeline.settings, SETTLED), run_audit(history.pipeline.settings)
    assert live.pending.get("release") == 2, "a live audit gives quota a minute to catch up"
    assert result.broken() == {"voided_booking_holds_slot": 2}


def test_a_paid_booking_voided_behind_the_services_back_is_caught(history: PaidAndUnpaid):
    app = history.pipeline.booking
    booking: Booking = app.repository.get(history.paid.booking_id)
    booking._voided(*booking.slot, "unpaid", utcnow(), booking.correlation_id)  # past every rule
    app.save(booking)
    assert "paid_booking_voided" in run_audit(history.pipeline.settings, SETTLED).broken()


def test_a_payment_deleted_from_the_store_leaves_a_paid_booking_unmatched(history: PaidAndUnpaid):
    from services.booking.billing import Payment

    history.delete("booking", "Payment.Recorded", Payment.id_for("bank-1"))
    assert run_audit(history.pipeline.settings, SETTLED).broken() == {"payment_matched_twice": 1}

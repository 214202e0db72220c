"""A confirmed booking owes the passport fee: a billing code, an amount, a deadline; paid, or voided."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from booking_story import World, nik
from eventsourcing.persistence import OperationalError

from services.booking.billing import billing_code, is_billing_code, luhn_digit, payment_deadline
from services.booking.expiry import Holds, expire_holds
from shared.events import PaymentOutcome, PaymentStatus, RecordPayment
from shared.fees import UnknownFee, fee_table, parse
from shared.pseudonyms import Pseudonyms

JAKARTA = ZoneInfo("Asia/Jakarta")


def paid(world: World, code: str, amount: int, reference: str | None = None):
    command = RecordPayment(
        reference=reference or uuid.uuid4().hex, billing_code=code, amount=amount, paid_at=world.now
    )
    return world.app.payments.record(command, world.now)


def voided(world: World, booking_ids: list[uuid.UUID], now: dt.datetime) -> list[uuid.UUID]:
    return [b for b, done in world.app.payments.expire(booking_ids, now).items() if done is True]


def confirmed_booking(world: World, subject: str = "siti", serial: int = 1, applicants: int = 1):
    caller = world.signed_up(subject)
    booking = world.book(caller, [nik(serial + i) for i in range(applicants)])
    world.confirm(booking.booking_id)
    return world.app.view(booking.booking_id)


def test_the_fee_table_names_its_source_and_prices_each_applicant():
    table = fee_table()
    assert "PP 28/2019" in str(table.source["regulation"]) and table.source["taken_on"]
    assert table.for_applicant("regular", "new") == 350_000
    assert table.for_applicant("electronic", "replacement_lost") == 650_000 + 1_000_000
    assert table.for_applicants([{"passport_type": "regular", "service": "renewal"}] * 3) == 1_050_000
    with pytest.raises(UnknownFee):
        table.for_applicant("diplomatic", "new")
    with pytest.raises(ValueError, match="whole rupiah"):
        parse("[passport]\nregular = { amount = -1 }\n[service]\n")


def test_a_billing_code_is_fifteen_digits_with_a_check_digit_and_stable_per_booking():
    keyed = Pseudonyms(b"a test identity key of 32 bytes!")
    booking = uuid.uuid4()
    code = billing_code(booking, keyed)
    assert len(code) == 15 and code.isdigit() and is_billing_code(code)
    assert billing_code(booking, keyed) == code, "the same booking always gets the same code"
    assert billing_code(uuid.uuid4(), keyed) != code
    assert billing_code(booking, Pseudonyms(b"another identity key of 32 bytes")) != code, "keyed: not guessable"
    tampered = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert not is_billing_code(tampered) and luhn_digit("7992739871") == "3"


def test_the_deadline_is_two_hours_but_never_later_than_the_day_before_the_appointment():
    hold, day = dt.timedelta(hours=2), dt.date(2026, 3, 10)
    starts = dt.datetime(2026, 3, 10, 8, 0, tzinfo=JAKARTA)
    early = dt.datetime(2026, 3, 2, 9, 0, tzinfo=JAKARTA)
    assert payment_deadline(early, hold, day, JAKARTA, starts) == early + hold
    late_evening = dt.datetime(2026, 3, 9, 23, 0, tzinfo=JAKARTA)
    assert payment_deadline(late_evening, hold, day, JAKARTA, starts) == dt.datetime(2026, 3, 10, 0, 0, tzinfo=JAKARTA)
    same_day = dt.datetime(2026, 3, 10, 7, 0, tzinfo=JAKARTA)
    assert payment_deadline(same_day, hold, day, JAKARTA, starts) == starts, "on its own day: before the session"
    ends, under_way = dt.datetime(2026, 3, 10, 12, 0, tzinfo=JAKARTA), dt.datetime(2026, 3, 10, 11, 0, tzinfo=JAKARTA)
    assert payment_deadline(under_way, hold, day, JAKARTA, starts, ends) == ends, "under way: before it ends"
    assert payment_deadline(under_way, hold, day, JAKARTA, starts, ends) > under_way, "never in the past"


def test_a_confirmed_booking_shows_its_billing_code_amount_and_deadline():
    world = World()
    view = confirmed_booking(world, applicants=2)
    assert view.payment is not None
    assert is_billing_code(view.payment.billing_code)
    assert view.payment.amount == 700_000 and view.payment.currency == "IDR"
    assert view.payment.deadline == world.now + dt.timedelta(hours=2)
    assert view.payment.status == PaymentStatus.UNPAID


def test_paying_the_billed_amount_keeps_the_booking_for_good():
    world = World()
    view = confirmed_booking(world)
    answer = paid(world, view.payment.billing_code, view.payment.amount)
    assert answer.outcome == PaymentOutcome.PAID and answer.booking_id == view.booking_id
    world.later(hours=3)
    assert voided(world, [view.booking_id], world.now) == []
    after = world.app.view(view.booking_id)
    assert after.status.value == "confirmed" and after.payment.status == PaymentStatus.PAID


def test_a_duplicate_callback_changes_nothing():
    world = World()
    view = confirmed_booking(world)
    first = paid(world, view.payment.billing_code, view.payment.amount, reference="bank-ref-0001")
    events = world.stored_events()
    again = paid(world, view.payment.billing_code, view.payment.amount, reference="bank-ref-0001")
    assert again.duplicate and again.outcome == first.outcome == PaymentOutcome.PAID
    assert world.stored_events() == events


def test_a_wrong_amount_or_an_unknown_code_is_refused_recorded_and_changes_no_booking():
    world = World()
    view = confirmed_booking(world)
    wrong = paid(world, view.payment.billing_code, view.payment.amount - 1)
    assert wrong.outcome == PaymentOutcome.WRONG_AMOUNT and "350000" in wrong.detail
    unknown = paid(world, "123456789012345", 350_000)
    assert unknown.outcome == PaymentOutcome.UNKNOWN_BILLING_CODE and unknown.booking_id is None
    assert world.app.view(view.booking_id).payment.status == PaymentStatus.UNPAID
    world.later(hours=2)
    assert voided(world, [view.booking_id], world.now) == [view.booking_id]


def test_an_unpaid_booking_is_voided_at_its_deadline_and_frees_its_holder_without_a_cooldown():
    world = World()
    view = confirmed_booking(world)
    world.later(minutes=119)
    assert voided(world, [view.booking_id], world.now) == [], "not due yet"
    world.later(minutes=1)
    assert voided(world, [view.booking_id], world.now) == [view.booking_id]
    after = world.app.view(view.booking_id)
    assert after.status.value == "voided" and after.payment.status == PaymentStatus.EXPIRED
    assert voided(world, [view.booking_id], world.now) == [], "voided once"
    registrations = world.app.accounts.registrations(world.caller("siti"), world.now)
    assert registrations.active_booking_id is None and registrations.cooldown_until is None
    other = world.book(world.signed_up("budi"), [nik(1)], kk_number="3174010000000002")
    assert other.status.value == "requested", "the NIK is free again"


def test_a_payment_after_the_booking_was_voided_becomes_a_refund_owed():
    world = World()
    view = confirmed_booking(world)
    world.later(hours=2)
    world.app.payments.expire([view.booking_id], world.now)
    late = paid(world, view.payment.billing_code, view.payment.amount)
    assert late.outcome == PaymentOutcome.REFUND_OWED and "voided" in late.detail
    assert world.app.view(view.booking_id).status.value == "voided"


def test_the_expiry_tick_finds_the_due_holds_in_the_stored_events():
    world = World()
    holds = Holds(world.app)
    unpaid, paying = confirmed_booking(world, "siti", 1), confirmed_booking(world, "budi", 2)
    paid(world, paying.payment.billing_code, paying.payment.amount)
    assert holds.tick(world.now) == [] and set(holds.deadlines) == {unpaid.booking_id}, "a paid hold is closed"
    world.later(hours=2)
    assert holds.tick(world.now) == [unpaid.booking_id]
    assert holds.deadlines == {} and holds.tick(world.now) == []


def test_the_tick_loop_outlives_a_store_that_fails_a_moment():
    world = World()
    unpaid = confirmed_booking(world)
    holds, saved, failures = Holds(world.app), [], [OperationalError("database is locked")]
    tick = holds.tick

    def flaky(now: dt.datetime) -> list[uuid.UUID]:
        if failures:
            raise failures.pop()
        return tick(now)

    holds.tick = flaky  # type: ignore[method-assign]
    later = world.now + dt.timedelta(hours=2)

    async def story() -> None:
        loop = asyncio.create_task(
            expire_holds(holds, ThreadPoolExecutor(1), lambda: saved.append(1), 0.01, lambda: later)
        )
        while not saved:
            await asyncio.sleep(0.01)
        loop.cancel()

    asyncio.run(asyncio.wait_for(story(), 10))
    assert world.app.view(unpaid.booking_id).status.value == "voided", "voided on the tick after the failure"

"""Check-in at the office: once per booking, only for a confirmed booking; no-shows after the session."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ticket_story import DAY, Keys, at, cancelled, confirmed, issue, notifier

from services.notifier.application import NotifierApplication
from services.notifier.errors import CheckInRefused
from services.notifier.messaging import to_wire
from shared.events import BookingCheckedIn, BookingNoShow

NINE = at("JKT-SEL", DAY, "09:00")


def refused(app: NotifierApplication, payload: str, now: dt.datetime = NINE, office: str = "JKT-SEL") -> CheckInRefused:
    with pytest.raises(CheckInRefused) as error:
        app.check_in(payload, "dev:officer-ani", office, now)
    return error.value


def test_a_genuine_ticket_checks_its_holder_in_and_tells_the_booking_service():
    app = notifier()
    booking = confirmed(queue=12, applicants=3)
    (payload,) = issue(app, booking)

    ticket = app.check_in(payload, "dev:officer-ani", "JKT-SEL", NINE)

    assert ticket.checked_in == (NINE, "dev:officer-ani")
    ((subject, message),) = to_wire(_last_event(app, ticket.id), 8)
    assert isinstance(message, BookingCheckedIn) and message.booking_id == booking.booking_id
    assert (message.officer, message.slot, message.correlation_id) == (
        "dev:officer-ani",
        booking.slot,
        booking.correlation_id,
    )
    assert subject.startswith("paspor.ticket.p") and subject.endswith(".checked_in")


def _last_event(app: NotifierApplication, aggregate_id):
    return list(app.repository.event_store.get(aggregate_id))[-1]


def test_a_second_scan_answers_already_checked_in_at_what_time_and_by_whom():
    app = notifier()
    (payload,) = issue(app, confirmed())
    app.check_in(payload, "dev:officer-ani", "JKT-SEL", at("JKT-SEL", DAY, "08:42"))

    again = refused(app, payload, now=at("JKT-SEL", DAY, "09:10"))

    assert again.code == "already_checked_in"
    assert again.english() == "Already checked in at 08:42 by dev:officer-ani."
    assert "08:42" in again.indonesian()


def test_a_cancelled_booking_s_ticket_is_refused_with_that_reason():
    app = notifier()
    booking = confirmed()
    (payload,) = issue(app, booking)
    app.apply_batch([cancelled(booking)], NINE - dt.timedelta(days=2))

    assert refused(app, payload).code == "booking_cancelled"


def test_each_invalid_ticket_is_refused_with_its_reason_and_nothing_is_recorded():
    key = Ed25519PrivateKey.generate()
    app = notifier(key)
    booking = confirmed()
    (payload,) = issue(app, booking)

    assert refused(app, payload, office="GRESIK").code == "wrong_office"
    assert refused(app, payload, now=NINE + dt.timedelta(days=1)).code == "expired"
    assert refused(app, payload, now=NINE - dt.timedelta(days=1)).code == "wrong_day"
    assert refused(app, payload, now=at("JKT-SEL", DAY, "14:00")).code == "wrong_session"
    assert refused(app, payload[:-8] + "AAAAAAAA").code == "bad_signature"
    assert refused(app, "hello").code == "malformed"
    assert app.ticket(booking.booking_id).checked_in is None


def test_a_genuine_ticket_this_notifier_never_issued_is_refused():
    key = Ed25519PrivateKey.generate()
    (elsewhere,) = issue(notifier(key), confirmed())
    assert refused(notifier(key), elsewhere).code == "ticket_unknown"


def test_after_the_session_and_its_grace_unchecked_bookings_become_no_shows():
    app = notifier()
    came, stayed_away, afternoon = confirmed(queue=1), confirmed(queue=2), confirmed(session="siang")
    payloads = issue(app, came, stayed_away, afternoon)
    app.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)

    assert app.sweep_no_shows(at("JKT-SEL", DAY, "12:29")) == 0, "check-in is still open during the grace"
    assert app.sweep_no_shows(at("JKT-SEL", DAY, "12:31")) == 1
    assert app.sweep_no_shows(at("JKT-SEL", DAY, "12:40")) == 0, "a no-show is recorded once"

    assert app.ticket(stayed_away.booking_id).no_show_at is not None
    assert app.ticket(came.booking_id).no_show_at is None and app.ticket(afternoon.booking_id).no_show_at is None
    ((_, message),) = to_wire(_last_event(app, app.ticket(stayed_away.booking_id).id), 8)
    assert isinstance(message, BookingNoShow) and message.booking_id == stayed_away.booking_id


def test_a_no_show_cannot_be_checked_in_later():
    app = notifier()
    (payload,) = issue(app, confirmed(session="siang"))
    app.sweep_no_shows(at("JKT-SEL", DAY, "16:31"))
    app.policy = type(app.policy)(grace=dt.timedelta(hours=3))  # a generous office, after the sweep
    assert refused(app, payload, now=at("JKT-SEL", DAY, "16:45")).code == "no_show"


def test_the_open_tickets_are_rebuilt_from_the_event_store_after_a_restart(tmp_path):
    key = Ed25519PrivateKey.generate()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "notifier.sqlite")}
    first = NotifierApplication(key, env=env, trusted=Keys(key))
    came, stayed_away = confirmed(), confirmed()
    payloads = issue(first, came, stayed_away)
    first.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)
    first.close()

    restarted = NotifierApplication(key, env=env, trusted=Keys(key))

    assert set(restarted.roster.open) == {stayed_away.booking_id}
    assert restarted.sweep_no_shows(at("JKT-SEL", DAY, "13:00")) == 1

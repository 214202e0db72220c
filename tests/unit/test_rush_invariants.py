"""The checks after a rush catch each way a booking system can bend its rules, from the citizens' answers."""

from __future__ import annotations

import datetime as dt

import pytest

from paspor.rush.driver import RushRun
from paspor.rush.invariants import check
from paspor.rush.outcome import CONFIRMED, FAILED, REFUSED, Answer, Attempt
from paspor.rush.release import Release
from paspor.rush.scenario import User

DAY = dt.date(2027, 3, 2)
PAGI, SIANG = ("JKT-SEL", DAY, "pagi"), ("JKT-SEL", DAY, "siang")
RELEASE = Release([DAY], {PAGI: 2, SIANG: 2}, {PAGI: 0, SIANG: 0})


def citizen(serial: int, borrows: int | None = None) -> User:
    return User(serial, 0.0, [PAGI, SIANG], double_tap=False, cancels=False, applicants=1, borrows=borrows)


def confirmed(user: int, number: int, choice: int = 0, booking: str | None = None) -> Attempt:
    answer = Answer(CONFIRMED, None, booking or f"b-{user}-{choice}", number)
    return Attempt(user, choice, 0.0, 0.1, answer)


def refused(user: int, reason: str = "sold_out", choice: int = 0) -> Attempt:
    return Attempt(user, choice, 0.0, 0.1, Answer(REFUSED, reason))


def verdicts(attempts: list[Attempt], users: list[User], held=None, cancelled=()):
    run = RushRun("system", attempts, list(cancelled), 0, 0.0, 1.0, [])
    found = check(run, {u.serial: u for u in users}, RELEASE, held)
    return {name: verdict.ok for name, verdict in found.items()}


def test_a_clean_rush_keeps_every_rule():
    users = [citizen(0), citizen(1), citizen(2)]
    attempts = [confirmed(0, 1), confirmed(1, 2), refused(2), confirmed(2, 1, choice=1)]

    found = verdicts(attempts, users, held={PAGI: 2, SIANG: 1})

    assert all(found.values()), found


def test_a_third_booking_in_a_session_of_two_is_overbooking():
    users = [citizen(0), citizen(1), citizen(2)]

    found = verdicts([confirmed(0, 1), confirmed(1, 2), confirmed(2, 3)], users)

    assert not found["no_session_overbooked"]


def test_one_queue_number_given_to_two_citizens_is_caught():
    found = verdicts([confirmed(0, 1), confirmed(1, 1)], [citizen(0), citizen(1)])

    assert not found["queue_numbers_unique"]


def test_a_broker_confirmed_beside_the_owner_of_the_nik_is_caught():
    users = [citizen(0), citizen(1, borrows=0)]

    found = verdicts([confirmed(0, 1), confirmed(1, 1, choice=1)], users)

    assert not found["one_upcoming_per_nik"] and found["one_upcoming_per_account"]


def test_an_account_with_two_upcoming_bookings_is_caught():
    found = verdicts([confirmed(0, 1), confirmed(0, 1, choice=1)], [citizen(0)])

    assert not found["one_upcoming_per_account"]


def test_a_cancelled_booking_no_longer_counts_as_upcoming():
    attempts = [confirmed(0, 1, booking="first"), confirmed(0, 2, choice=1, booking="second")]

    found = verdicts(attempts, [citizen(0)], cancelled=["first"])

    assert found["one_upcoming_per_account"]


def test_a_double_tap_answered_two_ways_is_caught():
    tap = Attempt(0, 0, 0.0, 0.1, Answer(CONFIRMED, None, "b", 1), second=Answer(REFUSED, "sold_out"))

    found = verdicts([tap], [citizen(0)])

    assert not found["double_taps_alike"]


def test_an_attempt_left_without_an_outcome_is_caught():
    found = verdicts([Attempt(0, 0, 0.0, 60.0, Answer(FAILED, "no_outcome", "b"))], [citizen(0)])

    assert not found["one_final_outcome"]


def test_a_booking_the_system_holds_but_nobody_was_told_of_is_caught():
    found = verdicts([confirmed(0, 1)], [citizen(0)], held={PAGI: 2, SIANG: 0})

    assert not found["system_agrees"]


def test_a_confirmation_that_names_no_booking_is_refused_with_a_clear_error():
    nameless = Attempt(0, 0, 0.0, 0.1, Answer(CONFIRMED, None, None, 1))

    with pytest.raises(ValueError, match="user 0's choice 0 was confirmed without a booking id"):
        verdicts([nameless], [citizen(0)])

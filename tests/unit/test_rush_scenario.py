"""Who comes to a rush: citizens with their own NIKs, double taps, brokers with a borrowed NIK, and fallbacks."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from paspor.cli import app
from paspor.rush.identities import Identities
from paspor.rush.scenario import InvalidScenario, Scenario, population
from paspor.rush.session import InvalidOptions, RushOptions

DAY = dt.date(2027, 3, 2)  # a Tuesday


def test_the_default_release_is_twenty_thousand_citizens_and_six_hundred_brokers_for_eight_offices():
    scenario = Scenario()

    users = population(scenario, [DAY])

    assert scenario.citizens == 20_000 and scenario.burst_seconds == 10
    assert len(scenario.sessions([DAY])) == 16, "8 offices x 1 date x 2 sessions"
    assert len(users) == 20_600 and sum(u.broker for u in users) == 600
    assert all(0 <= u.arrival <= 10 for u in users)
    assert 0.04 < sum(u.double_tap for u in users) / len(users) < 0.06


def test_every_citizen_books_with_their_own_niks_and_a_broker_with_one_borrowed_from_a_citizen():
    users = population(Scenario(citizens=2000, seed=3), [DAY])
    identities = Identities(run=42)

    citizens = [u for u in users if not u.broker]
    own = [n for u in citizens for n in u.nik_numbers()]
    assert len(own) == len(set(own)), "no two citizens share a NIK"
    assert len({identities.nik(n) for n in own}) == len(own), "and their NIK strings differ too"
    by_serial = {u.serial: u for u in users}
    for broker in (u for u in users if u.broker):
        victim = by_serial[broker.borrows]
        assert not victim.broker and broker.nik_numbers() == victim.nik_numbers()[:1]
        assert broker.choices == victim.choices, "a broker goes for what the citizen wanted"


def test_a_citizen_refused_falls_back_to_the_other_session_then_the_nearest_office():
    users = population(Scenario(citizens=200, seed=5), [DAY])

    for user in users:
        (office, day, session), (office2, day2, session2), (office3, day3, session3) = user.choices
        assert (office2, day2) == (office, day) and session2 != session
        assert office3 != office and day3 == day and session3 == session


def test_the_same_seed_draws_the_same_people_in_the_same_order():
    first = population(Scenario(citizens=500, seed=9), [DAY])
    again = population(Scenario(citizens=500, seed=9), [DAY])

    assert [(u.serial, u.arrival, u.choices) for u in first] == [(u.serial, u.arrival, u.choices) for u in again]


@pytest.mark.parametrize(
    ("knobs", "complaint"),
    [
        ({"citizens": 0}, "citizens must be at least 1"),
        ({"offices": 15}, "offices must be 1 to 14"),
        ({"double_tap": 1.5}, "double_tap must be a share from 0 to 1"),
        ({"brokers": -0.1}, "brokers must be a share from 0 to 1"),
        ({"burst_seconds": -1}, "burst_seconds must be 0 to 3600"),
    ],
)
def test_a_knob_out_of_range_is_refused_with_its_name(knobs, complaint):
    with pytest.raises(InvalidScenario, match=complaint):
        Scenario(**knobs)


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"runs": 0}, "runs must be 1 to 20"),
        ({"clients": 4, "connections": 2}, "at least one per client process"),
        ({"follow": "sometimes"}, "follow must be one of auto, events, poll"),
        ({"dates": (DAY, DAY + dt.timedelta(days=1))}, r"as many dates as --days \(1\)"),
        ({"gateway_url": "localhost:8080"}, "must start with http"),
    ],
)
def test_options_that_make_no_sense_are_refused_before_anything_starts(options, complaint):
    with pytest.raises(InvalidOptions, match=complaint):
        RushOptions(**options)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--date", "2027-02-30"], "is not a date"),
        (["--follow", "sometimes"], "follow must be one of"),
        (["--citizens", "0"], "greater than or equal to 1"),
        (["--offices", "15"], "offices must be 1 to 14"),
        (["--double-tap", "2"], "less than or equal to 1"),
    ],
)
def test_the_command_says_which_option_is_wrong(arguments, complaint):
    result = CliRunner().invoke(app, ["rush", *arguments])

    assert result.exit_code == 2
    assert complaint in " ".join(result.output.split())

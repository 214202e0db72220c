"""The check-in desk's day list: every ticket of an office's date, who came, who is awaited, who cancelled."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ticket_story import DAY, at, cancelled, confirmed, issue, notifier

from services.notifier.application import NotifierApplication, day_ticket
from shared.clock import FixedClock

NINE = at("JKT-SEL", DAY, "09:00")


def listed(app: NotifierApplication, office: str = "JKT-SEL", day: dt.date = DAY) -> list[tuple[str, int, str]]:
    return [(t.session, t.queue_number, t.status) for t in map(day_ticket, app.office_day(office, day))]


def test_the_day_list_shows_each_ticket_of_the_office_s_date_by_session_and_queue_number():
    app = notifier()
    came, awaited, gave_up = confirmed(queue=2), confirmed(queue=1), confirmed(session="siang", queue=1)
    payloads = issue(app, came, gave_up, awaited)
    issue(app, confirmed(office="GRESIK"), confirmed(day=DAY + dt.timedelta(days=1)))  # not this desk's day
    app.apply_batch([cancelled(gave_up)], NINE - dt.timedelta(days=1))

    app.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)

    assert listed(app) == [("pagi", 1, "waiting"), ("pagi", 2, "checked_in"), ("siang", 1, "cancelled")]
    (first,) = [t for t in map(day_ticket, app.office_day("JKT-SEL", DAY)) if t.status == "checked_in"]
    assert (first.booking_id, first.checked_in_at, first.officer, first.applicants) == (
        came.booking_id,
        NINE,
        "dev:officer-ani",
        2,
    )
    assert listed(app, "BOGOR") == []


def test_a_ticket_nobody_came_for_is_listed_as_a_no_show_once_its_session_is_over():
    app = notifier()
    issue(app, confirmed())
    app.sweep_no_shows(at("JKT-SEL", DAY, "12:31"))
    assert listed(app) == [("pagi", 7, "no_show")]


def test_the_day_list_is_rebuilt_from_the_event_store_after_a_restart(tmp_path):
    key = Ed25519PrivateKey.generate()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "notifier.sqlite")}
    first = notifier(key, env=env)
    came, awaited = confirmed(queue=1), confirmed(queue=2)
    payloads = issue(first, came, awaited)
    first.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)
    first.close()

    restarted = notifier(key, env=env)

    assert listed(restarted) == [("pagi", 1, "checked_in"), ("pagi", 2, "waiting")]


def test_a_sweep_forgets_the_desk_lists_of_days_past_the_horizon_and_keeps_the_newer_ones():
    app = notifier(desk_days=7)
    week_later = DAY + dt.timedelta(days=7)
    issue(app, confirmed(queue=1), confirmed(office="GRESIK", queue=1))
    kept = confirmed(day=week_later, queue=1)
    issue(app, kept)
    assert app.roster.days == 3

    app.sweep_no_shows(at("JKT-SEL", DAY + dt.timedelta(days=14), "09:00"))  # DAY is now 14 days ago

    assert (app.roster.kept_from, app.roster.days) == (week_later, 1), "the week-old list is kept, DAY's forgotten"
    assert app.roster.booked_on("JKT-SEL", week_later) == [kept.booking_id]
    assert not app.roster.keeps(DAY)
    app.sweep_no_shows(at("JKT-SEL", DAY, "12:31"))  # a sweep with an earlier clock brings nothing back
    assert (app.roster.kept_from, app.roster.days) == (week_later, 1)


def test_the_desk_list_of_a_forgotten_day_is_the_same_list_read_from_the_event_store():
    app = notifier(desk_days=7)
    came, awaited, gave_up = confirmed(queue=2), confirmed(queue=1), confirmed(session="siang", queue=1)
    payloads = issue(app, came, gave_up, awaited)
    issue(app, confirmed(office="GRESIK"), confirmed(day=DAY + dt.timedelta(days=1)))  # not this desk's day
    app.apply_batch([cancelled(gave_up)], NINE - dt.timedelta(days=1))
    app.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)
    app.sweep_no_shows(at("JKT-SEL", DAY, "16:31"))  # the sessions are over: whoever did not come is a no-show
    remembered = listed(app)
    assert remembered == [("pagi", 1, "no_show"), ("pagi", 2, "checked_in"), ("siang", 1, "cancelled")]

    app.sweep_no_shows(at("JKT-SEL", DAY + dt.timedelta(days=9), "09:00"))  # DAY and the day after forgotten

    assert not app.roster.keeps(DAY) and app.roster.days == 0
    assert listed(app) == remembered, "the slow path finds the same tickets in the store"
    assert listed(app, "GRESIK") == [("pagi", 7, "no_show")]
    assert listed(app, "BOGOR") == []


def test_a_kept_day_without_tickets_is_answered_empty_at_once_without_reading_the_store(monkeypatch):
    app = notifier(desk_days=7)
    issue(app, confirmed())
    app.sweep_no_shows(at("JKT-SEL", DAY, "16:31"))

    def read_the_store(office: str, day: dt.date) -> list:
        raise AssertionError(f"the store was read for {office} {day}")

    monkeypatch.setattr(app, "_issued_for", read_the_store)
    assert listed(app, "BOGOR") == [] and listed(app, "JKT-SEL", DAY + dt.timedelta(days=30)) == []
    assert listed(app) == [("pagi", 7, "no_show")]
    with pytest.raises(AssertionError, match="the store was read for JKT-SEL"):
        listed(app, "JKT-SEL", DAY - dt.timedelta(days=8))  # past the horizon: only the store knows


def test_a_restart_past_the_horizon_does_not_list_the_old_days_again_yet_still_answers_them(tmp_path):
    key = Ed25519PrivateKey.generate()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "notifier.sqlite")}
    first = notifier(key, env=env)
    issue(first, confirmed(queue=2), confirmed(queue=1), confirmed(day=DAY + dt.timedelta(days=30)))
    first.close()

    month_later = FixedClock(at("JKT-SEL", DAY + dt.timedelta(days=20), "08:00"))
    restarted = notifier(key, env=env, clock=month_later, desk_days=7)

    assert (restarted.roster.kept_from, restarted.roster.days) == (DAY + dt.timedelta(days=13), 1)
    assert listed(restarted) == [("pagi", 1, "waiting"), ("pagi", 2, "waiting")]
    assert len(restarted.roster.open) == 3, "open tickets are still watched, whatever their day"

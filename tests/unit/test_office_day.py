"""The check-in desk's day list: every ticket of an office's date, who came, who is awaited, who cancelled."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ticket_story import DAY, Keys, at, cancelled, confirmed, issue, notifier

from services.notifier.application import NotifierApplication, day_ticket

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
    first = NotifierApplication(key, env=env, trusted=Keys(key))
    came, awaited = confirmed(queue=1), confirmed(queue=2)
    payloads = issue(first, came, awaited)
    first.check_in(payloads[0], "dev:officer-ani", "JKT-SEL", NINE)
    first.close()

    restarted = NotifierApplication(key, env=env, trusted=Keys(key))

    assert listed(restarted) == [("pagi", 1, "checked_in"), ("pagi", 2, "waiting")]

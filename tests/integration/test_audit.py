"""The audit replays the event stores from nothing and proves the invariants — or names the events that break them.

A small real history is written through the services' own applications (on SQLite and on PostgreSQL),
then tampered with behind the services' backs, and the audit must catch each tampering.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from support import bookable_day
from typer.testing import CliRunner

from paspor.audit import Scope, run_audit
from paspor.audit.records import open_store
from paspor.audit.sample import Pipeline, citizen, request
from paspor.cli import app as cli
from services.booking.accounts import Account
from services.quota.domain import Request, SessionQuota, decision
from shared.audit_summary import load_latest
from shared.events import utcnow

OFFICE = "GRESIK"
JAKARTA = ZoneInfo("Asia/Jakarta")
# The history was written a moment ago: judge it as settled (by default the audit lets a service lag
# a minute behind another before a missing consequence counts as broken).
SETTLED = Scope(grace=dt.timedelta(0))


class History:
    """Five citizens race for a three-seat session: three confirmed, two refused; one cancels, one checks in."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline, self.day, now = pipeline, bookable_day(3), utcnow()
        pipeline.quota.change_capacity(OFFICE, self.day, ["pagi"], 3, by="operator")
        pipeline.sign_up(range(5), now)
        self.views = pipeline.book([request(i, OFFICE, self.day, "pagi") for i in range(5)], now)
        self.cancelled = self.views[0].booking_id
        pipeline.booking.cancel(citizen(0), self.cancelled, now)
        pipeline.pump(now)
        self.checked_in = self.views[1].booking_id
        ticket = pipeline.notifier.ticket(self.checked_in)
        at = dt.datetime.combine(self.day, dt.time(8, 30), JAKARTA)
        pipeline.notifier.check_in(ticket.payload, "petugas-1", OFFICE, at)
        pipeline.pump(at)

    @property
    def settings(self):
        return self.pipeline.settings

    def session(self):
        quota = self.pipeline.quota
        return quota.repository.get(SessionQuota.id_for(OFFICE, self.day, "pagi"))

    def delete(self, store: str, kind: str, aggregate_id: uuid.UUID) -> None:
        """Remove one stored event with plain SQL, as an intruder with database access would."""
        reader = open_store(self.settings, store)
        table = reader.recorder.events_table_name
        reader.close()
        if self.settings.event_store == "sqlite":
            with sqlite3.connect(self.settings.data_dir / f"{store}.sqlite") as db:
                db.execute(
                    f"DELETE FROM {table} WHERE topic LIKE ? AND originator_id = ?", (f"%:{kind}", aggregate_id.hex)
                )
        else:
            with psycopg.connect(self.settings.postgres_url, autocommit=True) as db:
                db.execute(
                    f"DELETE FROM {table} WHERE topic LIKE %s AND originator_id = %s", (f"%:{kind}", aggregate_id)
                )


@pytest.fixture(params=["sqlite", "postgres"])
def history(request: pytest.FixtureRequest, tmp_path: Path):
    url = request.getfixturevalue("fresh_postgres") if request.param == "postgres" else None
    pipeline = Pipeline(tmp_path, request.param, url)
    yield History(pipeline)
    pipeline.close()


def test_an_honest_history_passes_every_invariant(history: History):
    result = run_audit(history.settings, SETTLED)

    assert result.findings == []
    assert result.ok and set(result.events) == {"quota", "booking", "notifier"}
    assert result.totals["confirmed"] == 1 and result.totals["checked_in"] == 1
    assert result.totals["cancelled"] == 1 and result.totals["rejected"] == 2
    assert result.totals["slots_held"] == 2, "the cancelled booking's slot went back"
    assert result.unknown == {}


def test_a_reservation_written_behind_the_services_back_is_caught(history: History):
    session = history.session()
    intruders = [Request(str(uuid.uuid4()), "c", "m") for _ in range(2)]
    session._decided(
        OFFICE, history.day, "pagi", [decision(r, n, None, 0) for r, n in zip(intruders, (7, 8), strict=True)]
    )
    history.pipeline.quota.save(session)

    result = run_audit(history.settings, SETTLED)

    assert result.broken() == {"over_capacity": 1, "reservation_without_booking": 2}
    over = next(f for f in result.findings if f.code == "over_capacity")
    assert over.detail == "4 reservations held, capacity 3"
    assert [(e.store, e.kind, e.version) for e in over.evidence] == [("quota", "SessionQuota.Decided", session.version)]


def test_a_deleted_release_is_caught(history: History):
    assert run_audit(history.settings).pending == {}, "before the tampering"

    history.delete("quota", "SessionQuota.Released", SessionQuota.id_for(OFFICE, history.day, "pagi"))

    result, live = run_audit(history.settings, SETTLED), run_audit(history.settings)

    assert live.ok and live.pending == {"release": 1}, "a live audit gives quota a minute to catch up"
    assert result.broken() == {"cancellation_not_released": 1}
    (finding,) = result.findings
    assert finding.subject == f"booking {history.cancelled.hex}"
    assert [e.kind for e in finding.evidence] == ["Booking.Cancelled", "SessionQuota.Decided"]


def test_an_event_deleted_from_the_middle_of_a_history_leaves_a_gap(history: History):
    from services.notifier.domain import Ticket

    history.delete("notifier", "Ticket.Issued", Ticket.id_for(history.checked_in))

    result = run_audit(history.settings, SETTLED)

    assert result.broken() == {"version_gap": 1, "confirmed_without_ticket": 1}


def test_a_second_check_in_on_another_day_is_caught(history: History):
    ticket = history.pipeline.notifier.ticket(history.checked_in)
    next_day = dt.datetime.combine(history.day + dt.timedelta(days=1), dt.time(9), JAKARTA)
    ticket._checked_in(officer="petugas-2", at=next_day, **ticket._facts())  # bypasses the ticket's own rule
    history.pipeline.notifier.save(ticket)

    result = run_audit(history.settings, SETTLED)

    assert result.broken() == {"checked_in_twice": 1, "checked_in_on_wrong_day": 1}


def test_the_command_exits_non_zero_and_lists_the_offending_events(history: History):
    history.delete("quota", "SessionQuota.Released", SessionQuota.id_for(OFFICE, history.day, "pagi"))
    store = [
        "--data-dir",
        str(history.settings.data_dir),
        "--event-store",
        history.settings.event_store,
        "--postgres-url",
        history.settings.postgres_url,
        "--grace",
        "0",
    ]

    terminal = CliRunner().invoke(cli, ["audit", *store])
    as_csv = CliRunner().invoke(cli, ["audit", *store, "--format", "csv"])
    before = CliRunner().invoke(cli, ["audit", *store, "--as-of", "2000-01-01T00:00:00"])

    assert terminal.exit_code == 1 and "cancellation_not_released" in terminal.stdout
    assert "Booking.Cancelled" in terminal.stdout and "VERDICT: BROKEN" in terminal.stdout
    rows = as_csv.stdout.splitlines()
    assert as_csv.exit_code == 1 and rows[0].startswith("invariant,subject")
    assert [row.split(",")[0] for row in rows[1:]] == ["cancellation_not_released"] * 2
    assert before.exit_code == 0, "nothing had happened yet in 2000"
    saved = load_latest(history.settings.data_dir)  # the whole-system audit, not the --as-of one after it
    assert saved is not None and (saved.verdict, saved.broken) == ("broken", {"cancellation_not_released": 1})


def test_an_office_filter_reports_only_that_office(history: History):
    history.delete("quota", "SessionQuota.Released", SessionQuota.id_for(OFFICE, history.day, "pagi"))

    elsewhere = run_audit(history.settings, Scope(office="JKT-SEL", grace=dt.timedelta(0)))
    here = run_audit(history.settings, Scope(office=OFFICE, start=history.day, end=history.day, grace=dt.timedelta(0)))

    assert elsewhere.ok and elsewhere.totals["bookings"] == 0
    assert here.broken() == {"cancellation_not_released": 1}


def test_a_move_to_a_new_phone_is_reported_and_a_move_behind_the_rules_back_is_caught(history: History):
    booking, now = history.pipeline.booking, utcnow()
    new_phone = citizen(2).model_copy(update={"device_id": "new-phone-of-citizen-2"})
    booking.accounts.move_device(new_phone, now)
    account = booking.repository.get(Account.id_for("sample", "citizen-2"))
    account.move_device("new-phone-of-citizen-2", "a-third-phone-0001", now)  # the rule skipped
    account.move_device("a-third-phone-0001", "new-phone-of-citizen-2", now)  # back to a phone it had: allowed
    booking.save(account)

    result = run_audit(history.settings, SETTLED)
    terminal = CliRunner().invoke(
        cli,
        ["audit", "--data-dir", str(history.settings.data_dir), "--event-store", history.settings.event_store]
        + ["--postgres-url", history.settings.postgres_url, "--grace", "0"],
    )

    moves = [(m["account"], m["from_device"], m["to_device"]) for m in result.device_moves]
    assert moves == [
        (account.id.hex, "device-0…", "new-phon…"),
        (account.id.hex, "new-phon…", "a-third-…"),
        (account.id.hex, "a-third-…", "new-phon…"),
    ]
    assert result.totals["device_moves"] == 3 and result.broken() == {"device_moved_too_often": 1}
    assert "Accounts moved to a new device (3)" in terminal.stdout and "device_moved_too_often" in terminal.stdout
    assert not result.unknown, "the audit knows every event of a move"

"""A date released with a draw, told as a story through the booking, quota and notifier applications.

The pipeline of `paspor/audit/sample.py` plays the bus (no NATS), with the services' default settings:
dates are released with a draw. Citizens ask during the window around the release, wait for the draw,
are confirmed in the order the revealed seed makes; the audit recomputes the draw and finds it clean,
and finds it tampered when a position is swapped or the seed is not the one committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import bookable_day

from paspor.audit import Scope, run_audit
from paspor.audit.records import open_store
from paspor.audit.sample import Pipeline, citizen, request
from services.booking.errors import BookingError
from services.quota.draw import ReleaseDraw
from services.quota.main import QuotaSettings, build_application
from shared.draw import draw_order
from shared.events import BookingView

OFFICE = "GRESIK"
MINUTE = dt.timedelta(minutes=1)
SETTLED = Scope(grace=dt.timedelta(0))


class ReleaseWithADraw:
    """Eight citizens ask for a three-place session during its release window; one cancels while waiting."""

    def __init__(self, data_dir: Path) -> None:
        self.pipeline = Pipeline(data_dir)
        self.day = bookable_day(70)
        quota = self.pipeline.quota
        self.release = quota.schedule.opens_at(self.day, ZoneInfo("Asia/Jakarta")).astimezone(dt.UTC)
        quota.tick(self.release - 35 * MINUTE, [OFFICE])  # the commitment, before the window opens
        quota.change_capacity(OFFICE, self.day, ["pagi"], 3, by="operator")
        self.pipeline.sign_up(range(9), self.release - 40 * MINUTE)
        self.views: list[BookingView] = []
        for serial, minutes in enumerate([-10, -9, -7, -3, -1, 0, 2, 4]):  # the window: 10 min before to 5 after
            (view,) = self.pipeline.book([request(serial, OFFICE, self.day, "pagi")], self.release + minutes * MINUTE)
            assert not isinstance(view, BookingError), view
            self.views.append(view)
        self.waiting = [self.pipeline.booking.view(v.booking_id) for v in self.views]
        self.cancelled = self.views[7].booking_id
        self.pipeline.booking.cancel(citizen(7), self.cancelled, self.release + 4 * MINUTE)
        self.pipeline.pump(self.release + 4 * MINUTE)

    def close(self, at: dt.datetime) -> None:
        self.pipeline.quota.tick(at, [OFFICE])
        self.pipeline.pump(at)

    def draw(self) -> ReleaseDraw:
        return self.pipeline.quota.repository.get(ReleaseDraw.id_for(OFFICE, self.day))

    def status(self, booking_id: str | uuid.UUID) -> BookingView:
        return self.pipeline.booking.view(uuid.UUID(str(booking_id)))


@pytest.fixture
def story(tmp_path: Path):
    release = ReleaseWithADraw(tmp_path)
    yield release
    release.pipeline.close()


def test_a_release_window_fills_in_the_order_of_its_draw_and_the_audit_recomputes_it(story):
    # While the window is open, everyone waits for the draw, whatever second they came.
    assert all(v.status == "requested" and v.waiting_for_draw for v in story.waiting)
    assert {v.draw_closes_at for v in story.waiting} == {story.release + 5 * MINUTE}
    draw = story.draw()
    assert draw.commitment and not draw.drawn and len(draw.entries) == 8

    story.close(story.release + 5 * MINUTE)

    draw = story.draw()
    seed = bytes.fromhex(draw.seed)
    assert hashlib.sha256(seed).hexdigest() == draw.commitment
    joined = [str(v.booking_id) for v in story.views]
    assert draw.order == draw_order(joined, seed)
    offered = [b for b in draw.order if b != str(story.cancelled)]
    confirmed = [b for b in offered if story.status(b).status == "confirmed"]
    assert confirmed == offered[:3]  # the first three of the draw, not the first three to come
    assert [story.status(b).queue_number for b in confirmed] == [1, 2, 3]
    assert {story.status(b).reason for b in offered[3:]} == {"sold_out"}
    assert story.status(story.cancelled).status == "cancelled"
    assert not any(story.status(b).waiting_for_draw for b in joined)

    # A later arrival comes behind them, first come first served.
    (asked,) = story.pipeline.book([request(8, OFFICE, story.day, "pagi")], story.release + 6 * MINUTE)
    late = story.status(asked.booking_id)
    assert late.status == "rejected" and late.reason == "sold_out" and not late.waiting_for_draw

    result = run_audit(story.pipeline.settings, SETTLED)
    assert result.ok, [f.as_dict() for f in result.findings]
    assert result.kinds["quota:ReleaseDraw.Revealed"] == 1


def test_the_draw_is_made_at_the_next_request_after_the_window_when_no_tick_came(story):
    (asked,) = story.pipeline.book([request(8, OFFICE, story.day, "pagi")], story.release + 6 * MINUTE)
    assert story.draw().drawn
    assert (
        story.status(asked.booking_id).status == "rejected"
    )  # the three places went to the draw's first three, before it
    assert sum(story.status(v.booking_id).status == "confirmed" for v in story.views) == 3


def test_a_restarted_quota_worker_makes_the_draw_from_the_store(story, tmp_path):
    story.pipeline.quota.close()  # the worker stops with the window open and the draw still to make
    story.pipeline.quota = build_application(QuotaSettings(data_dir=tmp_path, event_store="sqlite"))
    story.pipeline.sources[1] = (story.pipeline.quota, story.pipeline.sources[1][1])
    story.close(story.release + 5 * MINUTE + dt.timedelta(seconds=1))
    assert story.draw().drawn
    assert sum(story.status(v.booking_id).status == "confirmed" for v in story.views) == 3
    assert run_audit(story.pipeline.settings, SETTLED).ok


def tamper(settings, kind: str, change) -> None:
    """Rewrite one stored quota event's state with plain SQL, as an intruder with database access would."""
    reader = open_store(settings, "quota")
    table = reader.recorder.events_table_name
    reader.close()
    with sqlite3.connect(settings.data_dir / "quota.sqlite") as db:
        ((rowid, state),) = db.execute(f"SELECT rowid, state FROM {table} WHERE topic LIKE ?", (f"%:{kind}",))
        data = json.loads(state)
        change(data)
        db.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (json.dumps(data).encode(), rowid))


def test_a_draw_with_two_positions_swapped_fails_the_audit(story):
    story.close(story.release + 5 * MINUTE)

    def swap(state):
        order = state["order"]
        order[0], order[5] = order[5], order[0]

    tamper(story.pipeline.settings, "ReleaseDraw.Drawn", swap)
    result = run_audit(story.pipeline.settings, SETTLED)
    assert result.broken()["draw_order_differs"] == 1
    (finding,) = [f for f in result.findings if f.code == "draw_order_differs"]
    assert "2 position(s) differ" in finding.detail and "the first at 1" in finding.detail


def test_a_revealed_seed_that_is_not_the_committed_one_fails_the_audit(story):
    story.close(story.release + 5 * MINUTE)

    def another_seed(state):
        state["seed"] = hashlib.sha256(b"a seed chosen after seeing the entries").hexdigest()

    tamper(story.pipeline.settings, "ReleaseDraw.Revealed", another_seed)
    result = run_audit(story.pipeline.settings, SETTLED)
    assert result.broken()["draw_seed_not_committed"] == 1

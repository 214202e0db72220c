"""What the audit learns of a stream's retained window from JetStream's stream info, and which stream a subject is on."""

from __future__ import annotations

import datetime as dt

from paspor.audit.jetstream import Window, stream_of

UTC = dt.UTC
NS = 1_000_000_000


def info(first_seq: int, last_seq: int, messages: int, max_age_s: int = 600, **times: str) -> dict:
    state = {"first_seq": first_seq, "last_seq": last_seq, "messages": messages}
    state.update({k: v for k, v in times.items() if k != "ts"})
    return {"config": {"max_age": max_age_s * NS}, "state": state, "ts": times.get("ts")}


def test_a_stream_that_lost_nothing_has_no_retention_boundary():
    window = Window.of(info(1, 5, 5, first_ts="2026-12-01T10:00:00Z", ts="2027-01-01T00:00:00Z"))
    assert not window.trimmed and window.retained_from is None


def test_the_boundary_is_the_earlier_of_the_oldest_message_and_the_max_age_back():
    window = Window.of(
        info(
            40,
            60,
            21,
            first_ts="2026-12-01T10:09:00.123456789Z",
            last_ts="2026-12-01T10:20:00Z",
            ts="2026-12-01T10:30:00Z",
        )
    )
    assert window.first_published == dt.datetime(2026, 12, 1, 10, 9, 0, 123456, UTC)
    assert window.max_age == dt.timedelta(minutes=10)
    assert window.retained_from == dt.datetime(2026, 12, 1, 10, 9, 0, 123456, UTC)  # before the max age back
    late = Window.of(info(40, 60, 21, first_ts="2026-12-01T10:25:00Z", ts="2026-12-01T10:30:00Z"))
    assert late.retained_from == dt.datetime(2026, 12, 1, 10, 20, tzinfo=UTC), "quiet before it: the max age back"


def test_an_emptied_stream_is_bounded_by_its_last_message_and_its_max_age():
    emptied = Window.of(
        info(61, 60, 0, first_ts="0001-01-01T00:00:00Z", last_ts="2026-12-01T10:05:00Z", ts="2026-12-01T12:00:00Z")
    )
    assert emptied.first_published is None and emptied.retained_from == dt.datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


def test_a_stream_without_a_max_age_was_purged_and_excuses_nothing():
    purged = Window.of(info(61, 60, 0, max_age_s=0, last_ts="2026-12-01T10:05:00Z", ts="2026-12-01T12:00:00Z"))
    assert purged.trimmed and purged.max_age is None and purged.retained_from is None
    old_server = Window.of(info(61, 60, 0, last_ts="2026-12-01T10:05:00Z"))  # no `ts` in its replies
    assert old_server.retained_from is None


def test_subjects_map_to_their_streams():
    assert stream_of("paspor.booking.p03.requested") == "PASPOR_BOOKING"
    assert stream_of("paspor.quota.p00.decided") == "PASPOR_QUOTA"
    assert stream_of("paspor.ticket.p07.issued") == "PASPOR_TICKET"
    assert stream_of("paspor.booking") is None and stream_of("paspor.cmd.booking.get") is None

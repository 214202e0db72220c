"""`paspor chaos`: its fault schedule, the load's tally and error windows, and the verdict."""

from __future__ import annotations

import pytest

from paspor.chaos.schedule import KINDS, plan
from paspor.chaos.verdict import judge
from paspor.load.records import Attempt, Tally, error_windows

TARGETS = {
    "nats": ["nats1", "nats2", "nats3"],
    "quota": ["quota-1", "quota-2"],
    "booking": ["booking-1", "booking-2"],
    "notifier": ["notifier"],
    "gateway": ["gateway-1", "gateway-2"],
    "postgres": ["postgres"],
}
SLOT = ("GRESIK", "2026-12-14", "pagi")


def test_the_same_seed_gives_the_same_fault_schedule_and_another_seed_another():
    first, again, other = (plan(seed, 1800, 30, TARGETS) for seed in (7, 7, 8))
    assert first == again
    assert first != other


def test_faults_come_about_every_interval_one_at_a_time_and_end_before_the_run():
    faults = plan(3, 1800, 30, TARGETS)
    assert 50 <= len(faults) <= 80  # 1800 s / 30 s, give or take the ±25 % jitter
    assert faults[0].at == 30
    for earlier, later in zip(faults, faults[1:], strict=False):
        assert 22.5 <= later.at - earlier.at <= 37.5
    assert all(f.at + f.down < 1800 and 1 <= f.down <= 8 for f in faults)


def test_a_long_run_crashes_every_kind_and_only_known_targets():
    faults = plan(11, 1800, 30, TARGETS)
    assert {f.kind for f in faults} == set(KINDS)
    assert all(f.target in TARGETS[f.kind] for f in faults)


def test_a_kind_without_targets_is_never_picked():
    faults = plan(1, 600, 10, {"nats": ["nats1"], "postgres": []})
    assert faults and {f.kind for f in faults} == {"nats"}


@pytest.mark.parametrize(
    ("interval", "targets", "message"),
    [
        (0, TARGETS, "above 0 seconds"),
        (30, {"redis": ["r"]}, "unknown fault kinds"),
        (30, {"nats": []}, "no process to crash"),
    ],
)
def test_a_bad_schedule_request_is_refused_with_a_clear_error(interval, targets, message):
    with pytest.raises(ValueError, match=message):
        plan(1, 600, interval, targets)


def test_a_run_shorter_than_one_interval_has_no_fault():
    assert plan(1, 20, 30, TARGETS) == []


def test_errors_close_together_make_one_window():
    windows = error_windows([10.0, 10.5, 11.9, 30.0, 31.0, 100.0])
    assert [(w.start, w.end, w.errors) for w in windows] == [(10.0, 11.9, 3), (30.0, 31.0, 2), (100.0, 100.0, 1)]


def answered(serial: int, status: int, booking: str | None, said: str | None, now: str | None, number=None) -> Attempt:
    attempt = Attempt(serial, SLOT, sent=1.0, answered=1.5, status=status, booking_id=booking)
    attempt.answered_status, attempt.booking_status, attempt.queue_number = said, now, number
    return attempt


def test_the_tally_counts_answers_failures_and_what_is_still_in_flight():
    attempts = [
        answered(1, 201, "b1", "confirmed", None, 1),
        answered(2, 409, None, None, None),
        Attempt(3, SLOT, sent=2.0, failure="no answer in 120s"),
        Attempt(4, SLOT, sent=3.0, errors=[(3.1, "refused"), (3.4, "refused")]),
    ]
    attempts[1].code = "sold_out"
    tally = Tally.of(attempts)
    assert (tally.sent, tally.answered, tally.failed, tally.in_flight, tally.acknowledged) == (4, 2, 1, 1, 1)
    assert tally.statuses == {"201": 1, "409 sold_out": 1}
    assert tally.errors == 2
    assert tally.p50_ms == 500


def test_a_clean_audit_and_every_acknowledged_booking_decided_is_ok():
    verdict = judge(
        [answered(1, 201, "b1", "confirmed", "confirmed", 1), answered(2, 202, "b2", "requested", "rejected")], True
    )
    assert verdict.ok


def test_an_acknowledged_booking_the_system_no_longer_knows_is_lost():
    verdict = judge([answered(1, 202, "b1", "requested", "missing")], audit_ok=True)
    assert not verdict.ok
    assert [a.booking_id for a in verdict.lost] == ["b1"]


def test_an_acknowledged_booking_never_decided_is_lost():
    verdict = judge([answered(1, 202, "b1", "requested", "requested")], audit_ok=True)
    assert not verdict.ok and len(verdict.lost) == 1


def test_a_confirmation_that_turned_into_something_else_fails_the_run():
    verdict = judge([answered(1, 201, "b1", "confirmed", "rejected")], audit_ok=True)
    assert not verdict.ok and [a.booking_id for a in verdict.changed] == ["b1"]


def test_one_queue_number_given_twice_in_a_session_fails_the_run():
    verdict = judge(
        [answered(1, 201, "b1", "confirmed", "confirmed", 4), answered(2, 201, "b2", "confirmed", "confirmed", 4)],
        audit_ok=True,
    )
    assert not verdict.ok and verdict.doubled == [(SLOT, 4)]


def test_a_broken_audit_fails_the_run_even_when_every_booking_is_there():
    assert not judge([answered(1, 201, "b1", "confirmed", "confirmed", 1)], audit_ok=False).ok


def test_a_booking_never_answered_is_reported_but_not_judged():
    verdict = judge([Attempt(1, SLOT, failure="no answer in 120s")], audit_ok=True)
    assert verdict.ok and verdict.unanswered == 1


@pytest.mark.parametrize("arguments", [["--rate", "0"], ["--minutes", "0"], ["--interval", "0.5"], ["--seed", "-1"]])
def test_a_bad_chaos_option_is_refused_before_anything_starts(arguments):
    from typer.testing import CliRunner

    from paspor.cli import app

    result = CliRunner().invoke(app, ["chaos", *arguments])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_a_process_left_down_or_a_fault_not_undone_fails_the_run():
    verdict = judge([answered(1, 201, "b1", "confirmed", "confirmed", 1)], audit_ok=True, healthy=False)
    assert not verdict.ok
    assert "every process running at the end: NO" in "\n".join(verdict.lines())

"""Several runs of a rush are reported by their medians, and an invariant broken in any run stays broken."""

from __future__ import annotations

from paspor.rush.invariants import Verdict
from paspor.rush.results import medians, ratios
from paspor.rush.session import _worst


def run_figures(rate: float, p99: float, saturated: bool = False) -> dict:
    return {
        "target": "system",
        "attempts_per_second": rate,
        "attempts": 100,
        "seconds": 10.0,
        "calls_per_attempt": 1.0,
        "confirmed": 20,
        "refused": 80,
        "failed": 0,
        "users_confirmed": 20,
        "sign_up_seconds": 3.0,
        "retries": 0,
        "latency_ms": {"p50": rate / 10, "p95": p99 / 2, "p99": p99, "max": p99},
        "refused_by_reason": {"sold_out": 80},
        "failed_by_reason": {},
        "retried_for": {},
        "client": {"mean": [0.2, 0.3], "peak_1s": [0.5, 0.9 if saturated else 0.4], "saturated": saturated},
    }


def test_three_runs_are_reported_by_their_medians_and_the_clients_worst_second():
    merged = medians([run_figures(300, 900), run_figures(500, 700, saturated=True), run_figures(400, 800)])

    assert merged["attempts_per_second"] == 400 and merged["latency_ms"]["p99"] == 800
    assert merged["client"]["peak_1s"] == [0.5, 0.9] and merged["client"]["saturated"]
    assert merged["runs"] == 3


def test_the_ratio_is_ours_over_the_conventional_apps():
    found = ratios(run_figures(600, 500), run_figures(400, 1000))

    assert found["attempts_per_second"] == 1.5 and found["latency_p99"] == 0.5


def test_an_invariant_broken_in_one_run_of_three_is_reported_broken_with_that_run():
    runs = [{"no_session_overbooked": Verdict(ok, f"run detail {i}")} for i, ok in enumerate((True, False, True), 1)]

    merged = _worst(runs)

    assert merged["no_session_overbooked"] == {"ok": False, "detail": "run 2: run detail 2"}

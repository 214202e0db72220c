"""A small rehearsal of a high-season rush: a burst of citizens against the real system and the baseline.

Three hundred citizens race for one office day (two sessions of 100) with double taps, fallbacks and a
few cancellations; the same people then race on the conventional SQL-counter service. Nobody is left
without an answer, nothing is overbooked, and the audit of the event stores afterwards says so too.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from paspor.rush.scenario import Scenario
from paspor.rush.session import RushOptions, rush

CAPACITY = 2 * 100  # one office day: pagi and siang, 100 each (the offices file's default)


def test_a_small_rush_sells_out_without_overbooking_on_both_systems(tmp_path: Path, postgres_admin: str):
    scenario = Scenario(users=300, offices=1, days=1, burst_seconds=2.0, double_tap=0.1, cancel=0.05, seed=7)
    options = RushOptions(
        scenario,
        data_dir=tmp_path / "system",
        compare=True,
        postgres_admin=postgres_admin,
        baseline_workers=1,
        connections=100,
        output_dir=tmp_path / "report",
    )

    report = rush(options, Console(width=120))

    ours, baseline = report["results"]
    for result in (ours, baseline):
        assert result["failed"] == 0, f"{result['target']}: every attempt got a final answer"
        assert result["users_confirmed"] >= CAPACITY * 0.9, f"{result['target']}: the day sold out"
        assert result["confirmed"] - result["cancelled"] <= CAPACITY, f"{result['target']}: never overbooked"
        assert result["refused_by_reason"].get("sold_out", 0) > 0
        assert result["double_taps"] > 0 and result["double_taps_two_bookings"] == 0, "a double tap is one booking"
        assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max"} and result["timeline"]
    assert baseline["double_taps_disagreeing"] == 0, baseline["double_tap_disagreements"]
    audit = report["audit"]
    assert audit["verdict"] == "ok", audit["findings"]
    streams = audit["scope"]["jetstream"]
    assert streams["messages_expected"] > CAPACITY, "the JetStream streams were replayed and matched the stores too"
    assert audit["totals"]["slots_held"] == ours["confirmed"] - ours["cancelled"] <= CAPACITY
    assert report["baseline_check"] == {"over_capacity": 0, "counter_drift": 0, "queue_number_duplicated": 0}
    assert (tmp_path / "report" / "rush.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "report" / "rush.json").read_text())["ratio"]["attempts_per_second"] > 0

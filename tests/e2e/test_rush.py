"""A small high-season release: a burst of citizens and brokers against the real system and the conventional app.

Three hundred citizens and fifteen brokers race for one office on one date (two sessions of 100) with
double taps, fallbacks and a few cancellations, through two client processes; the same people then race
on the conventional FastAPI + PostgreSQL app. Every attempt ends in one final outcome, nothing is
overbooked, no NIK or account holds two upcoming bookings, and each system holds exactly what its
citizens were told. Correctness only: no figure of speed is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from paspor.rush.invariants import NAMES
from paspor.rush.scenario import Scenario
from paspor.rush.session import RushOptions, rush

CAPACITY = 2 * 100  # one office day: pagi and siang, 100 each (the offices file's default)


def test_a_small_release_sells_out_without_bending_a_rule_on_both_systems(tmp_path: Path, postgres_admin: str):
    scenario = Scenario(
        citizens=300, offices=1, days=1, burst_seconds=2.0, double_tap=0.1, brokers=0.05, cancel=0.05, seed=7
    )
    options = RushOptions(
        scenario,
        data_dir=tmp_path / "system",
        compare=True,
        postgres_admin=postgres_admin,
        clients=2,
        connections=100,
        output_dir=tmp_path / "report",
    )

    report = rush(options, Console(width=120))

    assert report["release"]["places"] == CAPACITY and len(report["release"]["dates"]) == 1, (
        "one date from the calendar"
    )
    for target, verdicts in report["invariants"].items():
        assert set(NAMES) | {"system_audit"} == set(verdicts), target
        broken = {k: v["detail"] for k, v in verdicts.items() if not v["ok"]}
        assert not broken, f"{target}: {broken}"
    assert report["ok"]
    for result in report["results"]:
        name = result["target"]
        assert result["failed"] == 0, f"{name}: every attempt got a final answer"
        assert result["users_confirmed"] >= CAPACITY * 0.9, f"{name}: the day sold out"
        assert result["confirmed"] - result["cancelled"] <= CAPACITY, f"{name}: never overbooked"
        assert result["refused_by_reason"].get("sold_out", 0) > 0, f"{name}: latecomers were refused, sold out"
        assert result["refused_by_reason"].get("nik_already_booked", 0) > 0, f"{name}: a broker met the NIK's owner"
        assert result["double_taps"] > 0 and result["calls_per_attempt"] >= 1
        assert len(result["client"]["mean"]) == 2, "both client processes reported their CPU"
        assert {"p50", "p95", "p99", "max"} == set(result["latency_ms"]) and result["timeline"]
    audit = report["runs"][0]["event-sourced (paspor)"]["audit"]
    assert audit["verdict"] == "ok", audit["findings"]
    assert audit["scope"]["jetstream"]["messages_expected"] > CAPACITY, "the JetStream streams were checked too"
    ours = report["results"][0]
    assert audit["totals"]["slots_held"] == ours["confirmed"] - ours["cancelled"] <= CAPACITY
    assert (tmp_path / "report" / "rush.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "report" / "rush.json").read_text())["ratio"]["attempts_per_second"] > 0

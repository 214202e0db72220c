"""`paspor chaos`, briefly: half a minute of bookings on the local cluster while processes are crashed.

The real run lasts 30 minutes (BENCHMARKS.md); this one shows the whole command works end to end:
the private PostgreSQL and the cluster start, faults are injected and undone, every acknowledged
booking is read back, the audit runs, and the verdict is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paspor.cluster.pgserver import PostgresUnavailable, server_binaries

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_chaos_run_crashes_processes_loses_no_acknowledged_booking_and_passes_the_audit(tmp_path: Path):
    try:
        server_binaries()
    except PostgresUnavailable as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL server binaries are required in CI: {error}")
        pytest.skip(str(error))
    report = tmp_path / "chaos.json"
    command = [sys.executable, "-m", "paspor", "chaos", "--minutes", "0.5", "--rate", "2", "--interval", "8"]
    command += ["--seed", "5", "--report", str(report), "--data-dir", str(tmp_path / "run")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    found = json.loads(report.read_text())
    assert sum(found["faults"].values()) >= 2, found["fault_log"]
    assert all(fault["back_after"] is not None for fault in found["fault_log"])
    assert found["acknowledged"] > 20
    assert found["down_at_end"] == []
    assert found["audit_ok"] and found["lost"] == [] and found["changed"] == [] and found["ok"]
    assert "fault" in result.stdout and "audit verdict ok" in result.stdout

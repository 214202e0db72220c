"""The chaos run's summary: faults by kind, the load's figures, the error windows, the verdict."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from paspor.load.records import Tally, error_windows

from .run import ChaosResult


def summary(result: ChaosResult, say: Callable[[str], None]) -> dict:
    """Print the summary; returns it as data (for --report)."""
    kinds = Counter(fault.kind for fault, _, _ in result.faults)
    recoveries = [back for _, _, back in result.faults if back is not None]
    tally = Tally.of(result.attempts)
    moments = [when for attempt in result.attempts for when, _ in attempt.errors]
    windows = error_windows(moments)
    say(f"faults injected: {len(result.faults)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    if recoveries:
        say(f"  back after: median {sorted(recoveries)[len(recoveries) // 2]:.1f}s, longest {max(recoveries):.1f}s")
    say(f"bookings: {tally.line()}")
    say(f"error windows: {len(windows)}, {sum(w.seconds for w in windows):.0f}s in all")
    for window in sorted(windows, key=lambda w: -w.errors)[:10]:
        near = [
            f"{f.kind} {f.target}"
            for f, began, back in result.faults
            if began - 5 <= window.start <= began + (back or 0) + 30
        ]
        say(
            f"  {window.start:7.1f}s +{window.seconds:5.1f}s: {window.errors} errors (after: {', '.join(near) or 'no fault'})"
        )
    for when, name, code in result.unexpected_exits:
        say(f"[red]unexpected exit[/red] at {when:.0f}s: {name} (code {code})")
    if result.down_at_end:
        say(f"[red]not running when the load was over:[/red] {', '.join(result.down_at_end)}")
    if result.not_recovered:
        say(f"[red]not recovered:[/red] {result.not_recovered}")
    averages = result.load_averages
    if averages:
        say(f"machine load average (1 min): mean {sum(averages) / len(averages):.1f}, highest {max(averages):.1f}")
    verdict = result.verdict
    say(result.audit_output)
    if verdict is not None:
        for line in verdict.lines():
            say(line)
    return {
        "faults": dict(kinds),
        "fault_log": [
            {"at": began, "kind": f.kind, "target": f.target, "down": f.down, "back_after": back}
            for f, began, back in result.faults
        ],
        "sent": tally.sent,
        "answered": tally.answered,
        "failed": tally.failed,
        "acknowledged": tally.acknowledged,
        "statuses": dict(tally.statuses),
        "errors_met": tally.errors,
        "p50_ms": tally.p50_ms,
        "p99_ms": tally.p99_ms,
        "error_windows": [{"start": w.start, "seconds": w.seconds, "errors": w.errors} for w in windows],
        "unexpected_exits": result.unexpected_exits,
        "not_recovered": result.not_recovered,
        "down_at_end": result.down_at_end,
        "load_average_mean": sum(averages) / len(averages) if averages else None,
        "load_average_max": max(averages, default=None),
        "audit_ok": verdict.audit_ok if verdict else False,
        "lost": [a.booking_id for a in verdict.lost] if verdict else [],
        "changed": [a.booking_id for a in verdict.changed] if verdict else [],
        "ok": bool(verdict and verdict.ok),
    }


def write(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))

"""A rush's figures: attempts/s, confirmed, refused by reason, latency percentiles, throughput over time."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from .outcome import CONFIRMED, FAILED, REFUSED
from .runner import RushRun

BUCKET = 0.5  # seconds per point of the throughput timeline


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def figures(run: RushRun) -> dict[str, Any]:
    """Everything the report shows about one target, as plain data (the JSON report)."""
    attempts = run.attempts
    latencies = [a.latency_ms for a in attempts]
    spans: dict[int, list[float]] = {}
    for a in attempts:
        spans.setdefault(a.user, []).extend((a.sent, a.answered))
    per_user = [(max(s) - min(s)) * 1000 for s in spans.values()]
    status = Counter(a.answer.status for a in attempts)
    return {
        "target": run.target,
        "users": run.users,
        "attempts": len(attempts),
        "seconds": round(run.seconds, 3),
        "attempts_per_second": round(len(attempts) / run.seconds, 1) if run.seconds else 0,
        "confirmed": status[CONFIRMED],
        "refused": status[REFUSED],
        "failed": status[FAILED],
        "users_confirmed": len({a.user for a in attempts if a.answer.status == CONFIRMED}),
        "refused_by_reason": dict(
            Counter(a.answer.reason for a in attempts if a.answer.status == REFUSED).most_common()
        ),
        "failed_by_reason": dict(Counter(a.answer.reason for a in attempts if a.answer.status == FAILED).most_common()),
        "latency_ms": {f"p{p}": round(percentile(latencies, p), 1) for p in (50, 95, 99)}
        | {"max": round(max(latencies, default=0), 1)},
        "user_time_to_outcome_ms": {f"p{p}": round(percentile(per_user, p), 1) for p in (50, 95, 99)},
        "double_taps": sum(a.double_tap for a in attempts),
        "double_taps_disagreeing": sum(not a.taps_agree for a in attempts),
        "double_tap_disagreements": [_pair(a) for a in attempts if not a.taps_agree][:10],
        "double_taps_two_bookings": sum(_two_bookings(a) for a in attempts if not a.taps_agree),
        "retries": sum(a.answer.retries for a in attempts),
        "http_calls": sum(a.answer.calls for a in attempts),
        "cancelled": run.cancelled,
        "cancel_failed": run.cancel_failed,
        "sign_in_seconds": round(run.prepare_seconds, 2),
        "timeline": timeline(run),
    }


def _pair(attempt) -> list[str]:
    return [f"{x.status} {x.reason or ''} #{x.queue_number} {x.booking_id}" for x in (attempt.answer, attempt.second)]


def _two_bookings(attempt) -> bool:
    """The worst a double tap can do: two bookings, or two queue numbers, for one request."""
    first, second = attempt.answer, attempt.second
    both_booked = first.booking_id and second.booking_id and first.booking_id != second.booking_id
    both_confirmed = first.status == second.status == CONFIRMED and first.queue_number != second.queue_number
    return bool(both_booked or both_confirmed)


def timeline(run: RushRun) -> list[dict[str, float]]:
    """Attempts answered and confirmations per second, in half-second buckets after the release."""
    answered, confirmed = Counter[int](), Counter[int]()
    for a in run.attempts:
        bucket = int(a.answered / BUCKET)
        answered[bucket] += 1
        confirmed[bucket] += a.answer.status == CONFIRMED
    last = max(answered, default=-1)
    return [
        {"t": round(b * BUCKET, 2), "answered_per_s": answered[b] / BUCKET, "confirmed_per_s": confirmed[b] / BUCKET}
        for b in range(last + 1)
    ]


ROWS = (
    ("attempts/s", lambda f: f["attempts_per_second"], "{:,.0f}"),
    ("attempts", lambda f: f["attempts"], "{:,}"),
    ("confirmed", lambda f: f["confirmed"], "{:,}"),
    ("refused", lambda f: f["refused"], "{:,}"),
    ("failed", lambda f: f["failed"], "{:,}"),
    ("p50 request → outcome (ms)", lambda f: f["latency_ms"]["p50"], "{:,.0f}"),
    ("p95 request → outcome (ms)", lambda f: f["latency_ms"]["p95"], "{:,.0f}"),
    ("p99 request → outcome (ms)", lambda f: f["latency_ms"]["p99"], "{:,.0f}"),
    ("p95 user's first request → final (ms)", lambda f: f["user_time_to_outcome_ms"]["p95"], "{:,.0f}"),
    ("rush duration (s)", lambda f: f["seconds"], "{:,.1f}"),
    ("double taps (answered differently)", lambda f: f"{f['double_taps']} ({f['double_taps_disagreeing']})", "{}"),
    ("double taps that made two bookings", lambda f: f["double_taps_two_bookings"], "{:,}"),
    ("retries", lambda f: f["retries"], "{:,}"),
    ("cancelled", lambda f: f["cancelled"], "{:,}"),
)


def table(results: list[dict[str, Any]]) -> Table:
    """One column per target; with two, a ratio column (first ÷ second)."""
    table = Table(title="Rush results", title_justify="left")
    table.add_column("")
    for result in results:
        table.add_column(result["target"], justify="right")
    if len(results) == 2:
        table.add_column("ratio", justify="right")
    for label, value, fmt in ROWS:
        cells = [fmt.format(value(r)) for r in results]
        if len(results) == 2:
            a, b = value(results[0]), value(results[1])
            cells.append(f"{a / b:.2f}×" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "")
        table.add_row(label, *cells)
    reasons = sorted(
        {k for r in results for k in r["refused_by_reason"]} | {k for r in results for k in r["failed_by_reason"]}
    )
    for reason in reasons:
        table.add_row(
            f"  refused/failed: {reason}",
            *[str(r["refused_by_reason"].get(reason, r["failed_by_reason"].get(reason, 0))) for r in results],
            *([""] if len(results) == 2 else []),
        )
    return table

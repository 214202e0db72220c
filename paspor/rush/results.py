"""A rush's figures: attempts/s, request → final outcome percentiles, HTTP calls, outcomes, the client's CPU."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from .driver import RushRun
from .outcome import CONFIRMED, FAILED, REFUSED

BUCKET = 1.0  # seconds per point of the timelines
SATURATED = 0.85  # a client process busier than this (share of one core, in its busiest second) may be the limit


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def figures(run: RushRun) -> dict[str, Any]:
    """Everything the report shows about one target in one run, as plain data (the JSON report)."""
    attempts = run.attempts
    latencies = [a.latency_ms for a in attempts]
    status = Counter(a.answer.status for a in attempts)
    return {
        "target": run.target,
        "attempts": len(attempts),
        "seconds": round(run.seconds, 3),
        "attempts_per_second": round(len(attempts) / run.seconds, 1) if run.seconds else 0.0,
        "latency_ms": {f"p{p}": round(percentile(latencies, p), 1) for p in (50, 95, 99)}
        | {"max": round(max(latencies, default=0), 1)},
        "http_calls": sum(a.calls for a in attempts),
        "calls_per_attempt": round(sum(a.calls for a in attempts) / len(attempts), 3) if attempts else 0.0,
        "attempts_followed": sum(a.answer.calls > a.answer.retries + 1 for a in attempts),
        "confirmed": status[CONFIRMED],
        "refused": status[REFUSED],
        "failed": status[FAILED],
        "users_confirmed": len({a.user for a in attempts if a.answer.status == CONFIRMED}),
        "refused_by_reason": dict(
            Counter(a.answer.reason for a in attempts if a.answer.status == REFUSED).most_common()
        ),
        "failed_by_reason": dict(Counter(a.answer.reason for a in attempts if a.answer.status == FAILED).most_common()),
        "double_taps": sum(a.double_tap for a in attempts),
        "retries": sum(a.answer.retries for a in attempts),
        "retried_for": dict(Counter(a.answer.retried_for for a in attempts if a.answer.retried_for).most_common()),
        "cancelled": len(run.cancelled),
        "cancel_failed": run.cancel_failed,
        "sign_up_seconds": run.sign_up_seconds,
        "client": client_cpu(run.clients),
        "timeline": timeline(run),
    }


def client_cpu(clients: list[dict[str, Any]]) -> dict[str, Any]:
    """Per client process: CPU time over wall time in the rush (mean, busiest second), and whether it saturated."""
    rush = [c["rush"] for c in clients]
    return {
        "processes": len(clients),
        "mean": [c["mean"] for c in rush],
        "peak_1s": [c["peak_1s"] for c in rush],
        "cpu_seconds": round(sum(c["cpu_seconds"] for c in rush), 2),
        "sign_up_mean": [c["sign_up"]["mean"] for c in clients],
        "saturated": any(c["peak_1s"] > SATURATED for c in rush),
    }


def timeline(run: RushRun) -> list[dict[str, float]]:
    """Per second after the release: attempts sent and outcomes per second; latency percentiles of those sent."""
    sent, confirmed, refused, failed = Counter[int](), Counter[int](), Counter[int](), Counter[int]()
    latencies: dict[int, list[float]] = {}
    for a in run.attempts:
        start, end = int(a.sent / BUCKET), int(a.answered / BUCKET)
        sent[start] += 1
        latencies.setdefault(start, []).append(a.latency_ms)
        {CONFIRMED: confirmed, REFUSED: refused}.get(a.answer.status, failed)[end] += 1
    last = max([*sent, *confirmed, *refused, *failed], default=-1)
    return [
        {
            "t": round(b * BUCKET, 2),
            "sent_per_s": sent[b] / BUCKET,
            "confirmed_per_s": confirmed[b] / BUCKET,
            "refused_per_s": refused[b] / BUCKET,
            "failed_per_s": failed[b] / BUCKET,
            **{f"p{p}_ms": round(percentile(latencies.get(b, []), p), 1) for p in (50, 95, 99)},
        }
        for b in range(last + 1)
    ]


MEDIAN_KEYS = (
    "attempts_per_second",
    "attempts",
    "seconds",
    "calls_per_attempt",
    "confirmed",
    "refused",
    "failed",
    "users_confirmed",
    "sign_up_seconds",
    "retries",
)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's figures over several runs: the median of each (the first run's for what is not a number)."""
    if len(runs) == 1:
        return runs[0]
    merged = dict(runs[0])
    for key in MEDIAN_KEYS:
        merged[key] = statistics.median(r[key] for r in runs)
    merged["latency_ms"] = {k: statistics.median(r["latency_ms"][k] for r in runs) for k in runs[0]["latency_ms"]}
    reasons = {k for r in runs for k in r["refused_by_reason"]}
    merged["refused_by_reason"] = {
        k: statistics.median(r["refused_by_reason"].get(k, 0) for r in runs) for k in reasons
    }
    for key in ("failed_by_reason", "retried_for"):
        found = {k for r in runs for k in r[key]}
        merged[key] = {k: statistics.median(r[key].get(k, 0) for r in runs) for k in found}
    merged["client"] = dict(runs[0]["client"]) | {
        "mean": [max(r["client"]["mean"][i] for r in runs) for i in range(len(runs[0]["client"]["mean"]))],
        "peak_1s": [max(r["client"]["peak_1s"][i] for r in runs) for i in range(len(runs[0]["client"]["peak_1s"]))],
        "saturated": any(r["client"]["saturated"] for r in runs),
    }
    merged["runs"] = len(runs)
    return merged


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float | None]:
    """Ours ÷ conventional for the headline figures (above 1 is better for attempts/s, worse for latency)."""
    pick: dict[str, Callable[[dict[str, Any]], float]] = {
        "attempts_per_second": lambda r: r["attempts_per_second"],
        "calls_per_attempt": lambda r: r["calls_per_attempt"],
        **{f"latency_{p}": _latency(p) for p in ("p50", "p95", "p99")},
    }
    return {k: round(f(ours) / f(theirs), 3) if f(theirs) else None for k, f in pick.items()}


def _latency(percentile_key: str) -> Callable[[dict[str, Any]], float]:
    """Reads one latency percentile (p50, p95, p99) from a target's figures."""
    return lambda found: found["latency_ms"][percentile_key]

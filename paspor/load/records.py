"""What a steady load saw: one record per citizen's booking, and the figures drawn from them.

A booking is *answered* when the system decided it (any status below 500: 201 confirmed, 202 pending,
a 4xx refusal); a transport error or a 5xx is an *error*, and the citizen asks again with the same
Idempotency-Key. A booking that got no answer within the load's patience is *failed*. One that was
answered 201 or 202 with a booking id is *acknowledged*: it must never be lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ACKNOWLEDGED = (201, 202)
FINAL = ("confirmed", "rejected")


@dataclass
class Attempt:
    """One citizen's booking, times in seconds since the load began."""

    serial: int
    slot: tuple[str, str, str]  # office, date, session
    sent: float = 0.0
    answered: float | None = None
    status: int | None = None  # the HTTP status of the answer
    code: str | None = None  # a refusal's stable code
    booking_id: str | None = None
    answered_status: str | None = None  # the booking's status in the answer
    booking_status: str | None = None  # as read back after the load (follow.py)
    queue_number: int | None = None
    cancelled: bool = False  # cancelled by its citizen after the answer (a load with `cancel`)
    errors: list[tuple[float, str]] = field(default_factory=list)  # (when, what) before the answer
    failure: str | None = None  # why it got no answer (sign-up refused, patience exhausted)

    @property
    def acknowledged(self) -> bool:
        return self.status in ACKNOWLEDGED and self.booking_id is not None

    @property
    def latency_ms(self) -> float | None:
        return None if self.answered is None else (self.answered - self.sent) * 1000


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


@dataclass(frozen=True)
class Window:
    """A stretch of time in which requests met errors (transport errors, 5xx, or no answer at all)."""

    start: float
    end: float
    errors: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


def error_windows(moments: list[float], gap: float = 2.0) -> list[Window]:
    """Error moments merged into windows: two errors less than `gap` seconds apart are in one window."""
    windows: list[Window] = []
    for moment in sorted(moments):
        if windows and moment - windows[-1].end < gap:
            last = windows[-1]
            windows[-1] = Window(last.start, moment, last.errors + 1)
        else:
            windows.append(Window(moment, moment, 1))
    return windows


@dataclass
class Tally:
    """The figures of a set of attempts."""

    sent: int
    answered: int
    failed: int
    in_flight: int
    acknowledged: int
    statuses: Counter[str]
    errors: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, attempts: list[Attempt]) -> Tally:
        answered = [a for a in attempts if a.answered is not None]
        latencies = [a.latency_ms for a in answered if a.latency_ms is not None]
        statuses: Counter[str] = Counter(str(a.status) if a.code is None else f"{a.status} {a.code}" for a in answered)
        failed = sum(1 for a in attempts if a.failure is not None)
        return cls(
            sent=len(attempts),
            answered=len(answered),
            failed=failed,
            in_flight=len(attempts) - len(answered) - failed,
            acknowledged=sum(1 for a in answered if a.acknowledged),
            statuses=statuses,
            errors=sum(len(a.errors) for a in attempts),
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
        )

    def line(self) -> str:
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"sent {self.sent}, answered {self.answered} ({shown or '-'}), failed {self.failed}, "
            f"in flight {self.in_flight}, errors met {self.errors}, p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms"
        )

"""What one booking attempt came to, and what a rush as a whole came to."""

from __future__ import annotations

from dataclasses import dataclass

CONFIRMED, REFUSED, FAILED = "confirmed", "refused", "failed"
# Refusals after which a user tries their next choice (the slot, not the user, was the problem).
TRY_ELSEWHERE = frozenset({"sold_out", "office_closed", "not_released", "date_past"})


@dataclass(frozen=True)
class Answer:
    """The final answer to one booking attempt (after retries and polling)."""

    status: str  # confirmed | refused | failed
    reason: str | None = None
    booking_id: str | None = None
    queue_number: int | None = None
    calls: int = 1  # HTTP calls it took (retries and polls included)
    retries: int = 0


@dataclass(frozen=True)
class Attempt:
    """One attempt as measured: seconds after the release it was sent and answered."""

    user: int
    choice: int
    sent: float
    answered: float
    answer: Answer
    double_tap: bool = False
    taps_agree: bool = True
    second: Answer | None = None  # the other tap's answer, when a double tap disagreed

    @property
    def latency_ms(self) -> float:
        return (self.answered - self.sent) * 1000

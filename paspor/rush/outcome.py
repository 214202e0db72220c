"""What one booking attempt came to, as measured by the client."""

from __future__ import annotations

from dataclasses import astuple, dataclass

CONFIRMED, REFUSED, FAILED = "confirmed", "refused", "failed"
# Refusals after which a citizen tries their next choice (the slot, not the citizen, was the problem).
TRY_ELSEWHERE = frozenset({"sold_out", "office_closed", "not_released", "date_past"})


@dataclass(frozen=True)
class Answer:
    """The final answer to one booking request (after retries and following a pending booking)."""

    status: str  # confirmed | refused | failed
    reason: str | None = None
    booking_id: str | None = None
    queue_number: int | None = None
    calls: int = 1  # HTTP calls it took (retries and follow-ups included)
    retries: int = 0
    retried_for: str | None = None  # why it was first sent again (a status, a problem code, transport_error)


@dataclass(frozen=True)
class Attempt:
    """One attempt: seconds after the release it was sent and finally answered; a double tap's both answers."""

    user: int
    choice: int  # index into the user's choices
    sent: float
    answered: float
    answer: Answer
    second: Answer | None = None  # the other tap of a double tap

    @property
    def latency_ms(self) -> float:
        return (self.answered - self.sent) * 1000

    @property
    def double_tap(self) -> bool:
        return self.second is not None

    @property
    def calls(self) -> int:
        return self.answer.calls + (self.second.calls if self.second else 0)

    @property
    def taps_agree(self) -> bool:
        return self.second is None or same_answer(self.answer, self.second)

    def to_list(self) -> list:
        return [self.user, self.choice, self.sent, self.answered, list(astuple(self.answer))] + (
            [list(astuple(self.second))] if self.second else []
        )

    @classmethod
    def from_list(cls, row: list) -> Attempt:
        second = Answer(*row[5]) if len(row) > 5 else None
        return cls(row[0], row[1], row[2], row[3], Answer(*row[4]), second)


def same_answer(first: Answer, second: Answer) -> bool:
    """Both taps told the same: status, reason and queue number (and the booking, when both name one)."""
    ids = {first.booking_id, second.booking_id} - {None}
    same = (first.status, first.reason, first.queue_number) == (second.status, second.reason, second.queue_number)
    return same and len(ids) <= 1

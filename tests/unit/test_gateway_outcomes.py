"""Booking outcomes heard on NATS: a waiter who asks just after one passed still gets it; old ones are let go."""

from __future__ import annotations

import uuid

from services.gateway.messaging import OUTCOME_SECONDS, Outcomes


class Ticks:
    """A pinned clock in Unix seconds, moved by hand."""

    def __init__(self) -> None:
        self.at = 1_800_000_000.0

    def __call__(self) -> float:
        return self.at


def confirmed(booking_id: uuid.UUID) -> dict:
    return {"booking_id": str(booking_id), "type": "BookingConfirmed", "status": "confirmed"}


async def test_an_outcome_that_passed_just_before_its_waiter_asked_is_answered_at_once():
    clock, siti = Ticks(), uuid.uuid4()
    outcomes = Outcomes(clock=clock)
    outcomes.arrived(confirmed(siti))
    clock.at += 5  # the booking was read as `requested` while its outcome was on the way
    assert await outcomes.wait(siti, timeout=0) == confirmed(siti)


async def test_outcomes_are_let_go_after_a_minute_while_newer_ones_stay():
    clock, old, new = Ticks(), uuid.uuid4(), uuid.uuid4()
    outcomes = Outcomes(clock=clock)
    outcomes.arrived(confirmed(old))
    clock.at += OUTCOME_SECONDS - 10
    outcomes.arrived(confirmed(new))
    clock.at += 10
    assert await outcomes.wait(old, timeout=0) is None, "a reader of that booking sees it decided in the store"
    assert await outcomes.wait(new, timeout=0) == confirmed(new) and len(outcomes.recent) == 1
    assert outcomes.waiters == {}

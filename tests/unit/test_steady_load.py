"""The steady load's citizens (`paspor bench soak --cancel`): each signs up, books once and, when asked to,
cancels its booking once it is decided, so slots, payment holds and tickets turn over during a soak."""

from __future__ import annotations

import asyncio
from typing import Any

from paspor.load.steady import LoadPlan, SteadyLoad, dev_token
from paspor.rush.http import Reply

SLOT = ("SBY-TPI", "2027-01-20", "pagi")


class Gateway:
    """The gateway's answers to one citizen; a booking still deciding refuses its first cancel (409)."""

    def __init__(self, cancel_refusals: int = 1, cancel_status: int = 200) -> None:
        self.calls: list[tuple[str, str]] = []
        self.cancel_refusals, self.cancel_status = cancel_refusals, cancel_status

    async def call(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        path = url.removeprefix("http://gw")
        self.calls.append((method, path))
        if path == "/v1/dev/token":
            return Reply(200, body={"access_token": "t"})
        if path == "/v1/me/terms":
            return Reply(200, body={"current_version": "2026-01"})
        if path == "/v1/bookings":
            return Reply(201, body={"booking_id": "b-1", "status": "confirmed", "queue_number": 1})
        if path.endswith("/cancel"):
            if self.cancel_refusals:
                self.cancel_refusals -= 1
                return Reply(409, body={"code": "not_cancellable"})
            return Reply(self.cancel_status, body={"booking_id": "b-1", "status": "cancelled"})
        return Reply(404)


def one_citizen(gateway: Gateway, cancel: bool) -> Any:
    load = SteadyLoad(LoadPlan(["http://gw"], [SLOT], rate=50, run=1, cancel=cancel), dev_token)
    asyncio.run(load.run(gateway, 0.01))  # type: ignore[arg-type] - the fake answers as Http does
    (attempt,) = load.drain()
    return attempt, load


def test_a_citizen_books_once_and_keeps_its_booking_by_default():
    gateway = Gateway()
    attempt, load = one_citizen(gateway, cancel=False)
    assert attempt.acknowledged and not attempt.cancelled and attempt.failure is None
    assert not any(path.endswith("/cancel") for _, path in gateway.calls)
    assert load.keys == {}, "its device key is forgotten once answered"


def test_with_cancel_the_citizen_cancels_once_decided_asking_again_while_it_is_deciding():
    gateway = Gateway(cancel_refusals=1)
    attempt, _ = one_citizen(gateway, cancel=True)
    assert attempt.acknowledged and attempt.cancelled and attempt.failure is None
    assert gateway.calls.count(("POST", "/v1/bookings/b-1/cancel")) == 2


def test_a_cancel_refused_for_good_is_the_citizens_failure():
    gateway = Gateway(cancel_refusals=0, cancel_status=403)
    attempt, _ = one_citizen(gateway, cancel=True)
    assert not attempt.cancelled and attempt.failure == "cancel refused: HTTP 403"

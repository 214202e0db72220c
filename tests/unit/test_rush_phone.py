"""A simulated phone follows each booking to its final outcome and counts every HTTP call it took.

The server here is a scripted stand-in for a booking API, so that each way of answering (at once,
pending then polled, pending then streamed, busy then answered, never decided) is shown on its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from aiohttp import web

from paspor.rush.http import FifoGate, Http
from paspor.rush.outcome import CONFIRMED, FAILED, REFUSED
from paspor.rush.phone import Phone
from paspor.rush.scenario import User
from services.gateway.dpop import ProofChecker

DAY = dt.date(2027, 3, 2)
SLOT = ("JKT-SEL", DAY, "pagi")
BOOKING = {"booking_id": "7f1c2d9e-0000-4000-8000-000000000001", "status": "requested", "queue_number": None}
CONFIRMED_BOOKING = BOOKING | {"status": "confirmed", "queue_number": 17}


class ScriptedApi:
    """Answers POST /v1/bookings from a script, and the booking's GET and event stream from another."""

    def __init__(self, posts: list[web.Response], gets: list[dict] | None = None, events: list[dict] | None = None):
        self.posts, self.gets, self.events = posts, gets or [], events
        self.seen: list[str] = []
        self.proofs: list[tuple[str, str, str, str]] = []  # method, URL, DPoP header, X-Device-Id of each call

    def prove(self, request: web.Request) -> None:
        headers = request.headers
        self.proofs.append((request.method, str(request.url), headers.get("DPoP", ""), headers.get("X-Device-Id", "")))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/dev/token", self.token)
        app.router.add_get("/v1/me/terms", self.terms)
        app.router.add_post("/v1/me/terms", self.terms)
        app.router.add_post("/v1/bookings", self.book)
        app.router.add_get("/v1/bookings/{id}", self.get)
        app.router.add_get("/v1/bookings/{id}/events", self.stream)
        return app

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": "token"})

    async def terms(self, request: web.Request) -> web.Response:
        return web.json_response({"current_version": "2026.1"})

    async def book(self, request: web.Request) -> web.Response:
        self.prove(request)
        self.seen.append(f"POST {request.headers['Idempotency-Key']}")
        return self.posts.pop(0)

    async def get(self, request: web.Request) -> web.Response:
        self.prove(request)
        self.seen.append("GET")
        return web.json_response(self.gets.pop(0), headers={"Retry-After": "0"})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.seen.append("EVENTS")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in self.events:
            await response.write(f"event: status\ndata: {json.dumps(event)}\n\n".encode())
        return response


def pending(monitor: bool) -> web.Response:
    headers = {"Retry-After": "0", "Location": f"/v1/bookings/{BOOKING['booking_id']}"}
    if monitor:
        headers["Link"] = f"</v1/bookings/{BOOKING['booking_id']}/events>; rel=monitor"
    return web.json_response(BOOKING, status=202, headers=headers)


async def attempt(api: ScriptedApi, follow: str = "auto", patience: float = 5.0):
    server = web.AppRunner(api.app())
    await server.setup()
    site = web.TCPSite(server, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    user = User(1, 0.0, [SLOT], double_tap=False, cancels=False)
    phone = Phone("scripted", f"http://127.0.0.1:{port}", run=5, follow=follow, patience=patience)
    try:
        async with Http(10) as http:
            await phone.sign_up(http, user)
            return await phone.book(http, user, SLOT, "rush-5-1-0")
    finally:
        await server.cleanup()


async def test_a_booking_decided_at_once_takes_one_call():
    api = ScriptedApi([web.json_response(CONFIRMED_BOOKING, status=201)])

    answer = await attempt(api)

    assert (answer.status, answer.queue_number, answer.calls) == (CONFIRMED, 17, 1)


async def test_a_refusal_is_a_final_outcome_with_its_reason():
    api = ScriptedApi([web.json_response({"code": "sold_out", "status": 409}, status=409)])

    answer = await attempt(api)

    assert (answer.status, answer.reason, answer.calls) == (REFUSED, "sold_out", 1)


async def test_a_pending_booking_is_looked_at_again_after_its_retry_after_until_decided():
    api = ScriptedApi([pending(monitor=False)], gets=[BOOKING, CONFIRMED_BOOKING])

    answer = await attempt(api)

    assert (answer.status, answer.calls) == (CONFIRMED, 3)
    assert api.seen == ["POST rush-5-1-0", "GET", "GET"]


async def test_a_pending_booking_that_offers_its_event_stream_is_followed_there_in_one_more_call():
    events = [BOOKING, BOOKING | {"status": "rejected", "reason": "sold_out"}]
    api = ScriptedApi([pending(monitor=True)], events=events)

    answer = await attempt(api)

    assert (answer.status, answer.reason, answer.calls) == (REFUSED, "sold_out", 2)
    assert api.seen == ["POST rush-5-1-0", "EVENTS"]


async def test_a_stream_that_ends_before_the_outcome_is_followed_by_a_look_at_the_booking():
    api = ScriptedApi([pending(monitor=True)], gets=[CONFIRMED_BOOKING], events=[BOOKING])

    answer = await attempt(api)

    assert (answer.status, answer.calls) == (CONFIRMED, 3)
    assert api.seen == ["POST rush-5-1-0", "EVENTS", "GET"]


async def test_a_busy_answer_is_sent_again_with_the_same_key_and_counted():
    busy = web.json_response({"code": "service_unavailable"}, status=503, headers={"Retry-After": "0"})
    api = ScriptedApi([busy, web.json_response(CONFIRMED_BOOKING, status=201)])

    answer = await attempt(api)

    assert (answer.status, answer.calls, answer.retries, answer.retried_for) == (CONFIRMED, 2, 1, "service_unavailable")
    assert api.seen == ["POST rush-5-1-0", "POST rush-5-1-0"]


async def test_a_booking_never_decided_within_the_phones_patience_has_no_final_outcome():
    api = ScriptedApi([pending(monitor=False)], gets=[BOOKING] * 1000)

    answer = await asyncio.wait_for(attempt(api, follow="poll", patience=1.0), 10)

    assert (answer.status, answer.reason) == (FAILED, "no_outcome")


def test_an_unknown_way_of_following_is_refused():
    with pytest.raises(ValueError, match="follow must be one of auto, events, poll"):
        Phone("x", "http://127.0.0.1:1", run=1, follow="carrier-pigeon")


async def test_requests_waiting_for_a_connection_get_one_in_the_order_they_came():
    gate, order = FifoGate(1), []

    async def use(name: str, hold: float = 0.0) -> None:
        async with gate:
            order.append(name)
            await asyncio.sleep(hold)

    holder = asyncio.create_task(use("first", hold=0.05))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(use(name)) for name in ("second", "third")]
    await asyncio.sleep(0)
    given_up = asyncio.create_task(use("gave up"))
    await asyncio.sleep(0)
    given_up.cancel()
    await holder  # a newcomer arriving the moment the place is freed still queues behind the others
    newcomer = asyncio.create_task(use("newcomer"))
    await asyncio.gather(*queued, newcomer, return_exceptions=True)

    assert order == ["first", "second", "third", "newcomer"]
    assert gate.free == 1 and not gate.waiting, "every place came back"


async def test_every_call_carries_its_own_proof_of_the_phones_key_retries_and_polls_included():
    busy = web.json_response({"code": "service_unavailable"}, status=503, headers={"Retry-After": "0"})
    api = ScriptedApi([busy, pending(monitor=False)], gets=[BOOKING, CONFIRMED_BOOKING])

    answer = await attempt(api)

    checker = ProofChecker()
    devices = {checker.verify(proof, method, url, "token") for method, url, proof, _ in api.proofs}
    assert answer.status == CONFIRMED and len(api.proofs) == 4, "two posts and two polls, each proven once"
    assert devices == {api.proofs[0][3]}, "one phone: its key's thumbprint, sent as X-Device-Id too"

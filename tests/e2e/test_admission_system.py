"""The embedded system's gateway counts booking attempts in the shared bucket, logged in as the gateway.

NATS authentication is on (as `paspor up` runs it): the gateway's grant must let it read and raise the
counters of `paspor_admission`, or it would silently count alone. An account's 31st attempt within a
minute is refused, whichever answer its earlier attempts got.
"""

from __future__ import annotations

import time

import httpx
import nats
import pytest
from support import bookable_day, booking_body, sign_in

from shared import clock
from shared.events import ADMISSION_BUCKET

ACCOUNT_BUDGET = 30  # PASPOR_GATEWAY_ADMISSION_ACCOUNT's default, per minute


def metric(text: str, name: str, having: str = "") -> float:
    """The sum of a metric's samples (those whose labels include `having`), from /metrics."""
    samples = [line for line in text.splitlines() if line.startswith(name) and having in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in samples)


@pytest.fixture
def client(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as http:
        yield http


async def counters(system) -> int:  # noqa: ANN001
    """How many counters the bucket holds, as the gateway's NATS user sees it."""
    nc = await nats.connect(system.nats.url, **system.login("gateway").connect_options())
    try:
        return (await nc.jetstream().stream_info(f"KV_{ADMISSION_BUCKET}")).state.messages
    finally:
        await nc.close()


async def test_an_accounts_attempts_past_its_budget_are_refused_and_counted_in_the_shared_bucket(system, client):
    citizen = sign_in(client, "admission-story@example.com")
    body = booking_body("KEDIRI", bookable_day(12), "siang", 7_101)
    into_window = clock.now().timestamp() % 60
    if into_window > 45:  # the budget's minute would end during the story: start with the next one
        time.sleep(60.5 - into_window)
    answers = [
        client.post("/v1/bookings", json=body, headers=citizen.headers("admission-story-0001"))
        for _ in range(ACCOUNT_BUDGET + 1)
    ]
    shown = client.get("/metrics").text

    assert {a.status_code for a in answers[:ACCOUNT_BUDGET]} == {201}, "the same key: the same booking"
    refused = answers[ACCOUNT_BUDGET]
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert metric(shown, "paspor_gateway_admission_leases_total", 'counter="shared"') > 0
    assert metric(shown, "paspor_gateway_admission_fallbacks_total") == 0, "never counted alone"
    assert metric(shown, "paspor_gateway_admission_shared ") == 1
    assert await counters(system) >= 2, "this account's counter and its address's, at least"

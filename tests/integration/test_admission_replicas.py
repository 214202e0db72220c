"""Two gateway replicas on one nats-server hold one account to one booking budget between them.

A bot (or an impatient citizen) alternates its attempts between the replicas behind a balancer. Each
replica alone would let its own budget through, twice the budget in all; counted in the shared bucket
`paspor_admission`, the attempts past the budget are refused 429 whichever replica they reach. When
NATS goes away, each replica falls back to its own budget (no 5xx), and shares again once it is back.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client

from paspor.natsserver import NatsServer
from services.gateway.admission import Admission
from services.gateway.allowance import Budget
from services.gateway.availability import AvailabilityView
from shared.events import ADMISSION_BUCKET
from shared.runtime.bus import ensure_streams

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # the gateway's fakes live with its unit tests
from gateway_fakes import FakeServices, bearer, gateway_app, next_office_day  # noqa: E402
from support import (  # noqa: E402
    NOW,
    booking_body,
    signing,  # noqa: E402
)
from test_gateway_api import full  # noqa: E402

BUDGET = 6  # booking attempts per account per window, for the whole fleet
WINDOW_START = (NOW.timestamp() // 60) * 60 + 15  # both replicas' pinned clock: no window ends during a test


class Replica:
    """A gateway on the shared fake services, with its own read model and its booking budgets on NATS."""

    def __init__(self, keys: Path, services: FakeServices, view: AvailabilityView, shared: bool = True) -> None:
        self.api, self.gateway, self.dev = gateway_app(keys, services, availability=view)
        budgets = [Budget("account", BUDGET, 60), Budget("address", 10_000, 60)]
        self.admission = Admission(budgets, self.gateway.metrics, lambda: WINDOW_START, shared, 2.0)
        self.gateway.admission = self.admission

    def client(self) -> httpx.AsyncClient:
        return signing(httpx.AsyncClient(transport=httpx.ASGITransport(self.api), base_url="http://gateway"))


async def replicas(nc: Client, tmp_path: Path, shared: bool = True) -> tuple[list[Replica], list[asyncio.Task]]:
    services, view = FakeServices(), AvailabilityView()
    full(view, "GRESIK", next_office_day(), "pagi")  # attempts at the morning are refused at the door
    pair = [Replica(tmp_path, services, view, shared) for _ in range(2)]  # one dev issuer key: same tokens
    running = [asyncio.create_task(r.admission.run(nc, retry_after=0.2)) for r in pair if shared]
    for _ in range(200):
        if all(r.admission.counter is not None for r in pair) or not shared:
            return pair, running
        await asyncio.sleep(0.02)
    pytest.fail("the replicas never opened the admission bucket")


async def alternating(pair: list[Replica], attempts: int, first: int = 0) -> list[int]:
    """The same citizen's attempts, every other one through the other replica: their statuses."""
    day, statuses = next_office_day(), []
    headers = bearer(pair[0].dev)
    async with pair[0].client() as via_a, pair[1].client() as via_b:
        for n in range(first, first + attempts):
            session = ("pagi", "siang")[n // 2 % 2]  # refused at the door (sold out) or booked through the route
            key = {"Idempotency-Key": f"alternating-{n:06d}"}
            answer = await (via_a, via_b)[n % 2].post(
                "/v1/bookings", json=booking_body("GRESIK", day, session, 1), headers=headers | key
            )
            assert answer.status_code < 500, answer.text
            statuses.append(answer.status_code)
    return statuses


async def stop(running: list[asyncio.Task], nc: Client) -> None:
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await nc.close()


async def test_an_accounts_budget_holds_across_both_replicas(nats_server: NatsServer, tmp_path: Path):
    nc = await nats.connect(nats_server.url)
    await ensure_streams(nc.jetstream())
    shared, running = await replicas(nc, tmp_path)
    alone, _ = await replicas(nc, tmp_path / "alone", shared=False)
    try:
        with_sharing = await alternating(shared, 2 * BUDGET)
        per_replica = await alternating(alone, 2 * BUDGET)
        counters = await (await nc.jetstream().key_value(ADMISSION_BUCKET)).keys()
    finally:
        await stop(running, nc)

    assert with_sharing[:BUDGET] == [409, 409, 201, 201, 409, 409], "the budget: refused at the door or booked"
    assert with_sharing[BUDGET:] == [429] * BUDGET, "past it, refused on either replica"
    assert per_replica.count(429) == 0, "each replica alone would have let twice the budget through"
    assert sorted(key.split(".")[0] for key in counters) == ["account", "address"], "hashed keys, one per kind"


async def test_without_nats_each_replica_keeps_its_own_budget_and_shares_again_once_nats_is_back(
    nats_server: NatsServer, tmp_path: Path
):
    nc = await nats.connect(nats_server.url, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
    await ensure_streams(nc.jetstream())
    pair, running = await replicas(nc, tmp_path)
    try:
        before = await alternating(pair, 2)
        await asyncio.to_thread(nats_server.stop)
        during = await alternating(pair, 2 * BUDGET + 4, first=2)
        fallbacks = [r.gateway.metrics.admission_fallbacks._value.get() for r in pair]
        shared_during = [r.gateway.metrics.admission_shared._value.get() for r in pair]
        await asyncio.to_thread(nats_server.start)  # the bucket lived in memory: gone with the server
        for _ in range(300):
            if await pair[0].admission.admit("google:budi", "10.0.0.9") is None and (
                pair[0].gateway.metrics.admission_shared._value.get() == 1
            ):
                break
            await asyncio.sleep(0.05)
        counters = await (await nc.jetstream().key_value(ADMISSION_BUCKET)).keys()
    finally:
        await stop(running, nc)

    assert before == [409, 409]
    assert during.count(429) == 4, "each replica let its own budget through: 2 x 6 in all, then refused"
    assert all(status in (201, 409, 429) for status in during), "never a 5xx"
    assert all(n > 0 for n in fallbacks) and shared_during == [0, 0], "metered while it lasted"
    assert pair[0].gateway.metrics.admission_shared._value.get() == 1, "counting in the bucket again"
    assert any(key.startswith("account.") for key in counters), "the gateway made the bucket again"

"""Two gateway replicas answer one idempotency key alike: what one decided, the other knows through NATS.

A citizen's booking goes through replica A while the session has room; the session then fills up; the
phone, having lost A's answer, retries the same key through replica B. B must not refuse it `sold_out`
at once: it sends it on and the citizen gets their booking. And a request A refused at once is refused
by B too, even after a place frees up.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import nats
import pytest

from paspor.natsserver import NatsServer
from services.gateway.availability import AvailabilityView
from services.gateway.idempotency import SharedKeys
from shared.events import SessionRemaining, availability_key
from shared.runtime.bus import ensure_streams

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # the gateway's fakes live with its unit tests
from gateway_fakes import FakeServices, bearer, client_for, gateway_app, next_office_day  # noqa: E402
from support import booking_body  # noqa: E402
from test_gateway_api import full  # noqa: E402


def free(view: AvailabilityView, day) -> None:  # noqa: ANN001
    entry = SessionRemaining(capacity=100, booked=99, remaining=1, closed=False)
    view.apply(availability_key("GRESIK", day, "pagi"), entry.model_dump_json().encode())


class Replica:
    """A gateway on the shared fake services, its own read model, and its shared keys on NATS."""

    def __init__(self, keys: Path, services: FakeServices) -> None:
        self.view = AvailabilityView()
        self.api, self.gateway, self.dev = gateway_app(keys, services, availability=self.view)
        self.gateway.shared_keys = SharedKeys()

    def client(self) -> httpx.AsyncClient:
        return client_for(self.api)


async def until(predicate, what: str) -> None:  # noqa: ANN001
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"not in time: {what}")


async def test_a_key_retried_through_another_replica_gets_one_answer(nats_server: NatsServer, tmp_path: Path):
    nc = await nats.connect(nats_server.url)
    await ensure_streams(nc.jetstream())
    services, day = FakeServices(), next_office_day()
    a, b = Replica(tmp_path, services), Replica(tmp_path, services)  # one dev issuer key folder: same tokens
    running = [asyncio.create_task(r.gateway.shared_keys.run(nc.jetstream())) for r in (a, b)]
    await until(lambda: a.gateway.shared_keys.watching.is_set() and b.gateway.shared_keys.watching.is_set(), "watch")
    siti = bearer(a.dev) | {"Idempotency-Key": "siti-tap-000001"}
    budi = bearer(a.dev, "budi@example.com", "device-budi-0001") | {"Idempotency-Key": "budi-tap-000001"}
    try:
        async with a.client() as via_a, b.client() as via_b:
            first = await via_a.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=siti)
            for replica in (a, b):  # the session fills up, as both read models see
                full(replica.view, "GRESIK", day, "pagi")
            refused = await via_a.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 2), headers=budi)
            await until(lambda: len(b.gateway.shared_keys.mirror) == 2, "both of A's decisions reach B")
            retried = await via_b.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 1), headers=siti)
            free(b.view, day)  # a cancellation frees a place: B alone would now send Budi's retry on
            refused_again = await via_b.post("/v1/bookings", json=booking_body("GRESIK", day, "pagi", 2), headers=budi)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await nc.close()

    assert first.status_code == retried.status_code == 201, retried.text
    assert retried.json()["booking_id"] == first.json()["booking_id"], "B sent it on: the same booking"
    assert refused.status_code == refused_again.status_code == 409
    assert refused_again.json()["code"] == refused.json()["code"] == "sold_out"

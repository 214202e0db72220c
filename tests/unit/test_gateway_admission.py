"""Booking budgets at the gateway: every attempt spends one, at the door or in the route, and only once.

Here each gateway counts on its own (no bucket): the budgets' rules are the same with the shared
counter, which `tests/integration/test_admission_replicas.py` runs on NATS with two replicas.
"""

from __future__ import annotations

import httpx
import pytest
from gateway_fakes import FakeServices, bearer, gateway_app, next_office_day
from pydantic import ValidationError
from support import NOW, booking_body, signing
from test_gateway_api import full

from services.gateway.admission import Admission
from services.gateway.allowance import Budget
from services.gateway.availability import AvailabilityView
from services.gateway.main import admission
from services.gateway.metrics import Metrics
from services.gateway.settings import GatewaySettings
from shared.events import Commands

WINDOW_START = (NOW.timestamp() // 60) * 60 + 15  # a pinned clock, 15 s into a minute-long window


def with_budgets(tmp_path, account: int, address: int = 1000):  # noqa: ANN001, ANN201
    """The gateway on fake services, with booking budgets per account and address, counted by itself."""
    view, services = AvailabilityView(), FakeServices()
    api, gw, dev = gateway_app(tmp_path, services, availability=view)
    budgets = [Budget("account", account, 60), Budget("address", address, 60)]
    gw.admission = Admission(budgets, gw.metrics, lambda: WINDOW_START, shared=False)
    return api, gw, dev, view, services


def client_for(api) -> httpx.AsyncClient:  # noqa: ANN001
    return signing(httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway"))


async def attempt(client: httpx.AsyncClient, headers: dict, day, session: str, n: int) -> httpx.Response:  # noqa: ANN001
    key = {"Idempotency-Key": f"attempt-key-{n:06d}"}
    return await client.post("/v1/bookings", json=booking_body("GRESIK", day, session, 1), headers=headers | key)


async def test_attempts_refused_at_the_door_and_bookings_sent_on_spend_one_budget(tmp_path):
    api, gw, dev, view, services = with_budgets(tmp_path, account=4)
    day = next_office_day()
    full(view, "GRESIK", day, "pagi")
    siti = bearer(dev)
    async with client_for(api) as client:
        answers = [await attempt(client, siti, day, ("pagi", "siang")[n % 2], n) for n in range(6)]
    assert [a.status_code for a in answers] == [409, 201, 409, 201, 429, 429]
    spent = answers[4]
    assert spent.headers["content-type"] == "application/problem+json"
    assert spent.json()["code"] == "rate_limited" and spent.headers["Retry-After"] == "45", "the window's end"
    assert "account" in spent.json()["detail"] and "akun" in spent.json()["detail_id"]
    assert services.asked == [Commands.REQUEST_BOOKING] * 2, "a refused attempt reaches no service"
    assert gw.metrics.admission_refusals.labels("account")._value.get() == 2


async def test_a_booking_the_door_sent_on_is_not_counted_again_by_the_route(tmp_path):
    api, _, dev, _, _ = with_budgets(tmp_path, account=2)
    day = next_office_day()
    async with client_for(api) as client:
        answers = [await attempt(client, bearer(dev), day, "siang", n) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]


async def test_the_route_counts_what_the_door_could_not_read(tmp_path):
    api, gw, dev, _, _ = with_budgets(tmp_path, account=2)
    gw.availability = None  # no read model: the door lets every request through unread
    day = next_office_day()
    async with client_for(api) as client:
        answers = [await attempt(client, bearer(dev), day, "siang", n) for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited"


async def test_accounts_behind_one_address_share_the_addresss_budget(tmp_path):
    api, _, dev, _, _ = with_budgets(tmp_path, account=100, address=3)
    day = next_office_day()
    siti, budi = bearer(dev), bearer(dev, "budi@example.com", "device-budi-0001")
    async with client_for(api) as client:
        answers = [await attempt(client, (siti, budi)[n % 2], day, "siang", n) for n in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert "address" in answers[3].json()["detail"]


async def test_other_routes_spend_no_booking_budget(tmp_path):
    api, _, dev, _, _ = with_budgets(tmp_path, account=1)
    day = next_office_day()
    async with client_for(api) as client:
        for _ in range(3):
            assert (await client.get("/v1/bookings", headers=bearer(dev))).status_code == 200
        assert (await attempt(client, bearer(dev), day, "siang", 1)).status_code == 201


def test_budget_settings_out_of_range_are_refused_with_the_variable_named(monkeypatch):
    monkeypatch.setenv("PASPOR_GATEWAY_ADMISSION_WINDOW", "900")  # the bucket keeps a counter 900 s only
    with pytest.raises(ValidationError, match="gateway_admission_window"):
        GatewaySettings()
    monkeypatch.setenv("PASPOR_GATEWAY_ADMISSION_WINDOW", "60")
    monkeypatch.setenv("PASPOR_GATEWAY_ADMISSION_ACCOUNT", "0")
    with pytest.raises(ValidationError, match="gateway_admission_account"):
        GatewaySettings()
    monkeypatch.setenv("PASPOR_GATEWAY_ADMISSION_ACCOUNT", "12")
    monkeypatch.setenv("PASPOR_GATEWAY_ADMISSION_SHARED", "false")
    built = admission(GatewaySettings(), Metrics())
    assert built.allowances["account"].budget == Budget("account", 12, 60, 20) and not built.shared

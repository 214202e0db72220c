"""Rate limits count per client: behind a trusted proxy, the client it names; from anyone else, the peer itself."""

from __future__ import annotations

import httpx
import pytest
from gateway_fakes import gateway_app

from services.gateway.app import build_api
from services.gateway.clients import TrustedProxies
from services.gateway.ratelimit import Limits, RateLimiter

BALANCER = "10.0.0.5"
PROXIES = TrustedProxies(["10.0.0.0/24"])


def scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 40000), "headers": headers}


def test_a_trusted_proxy_names_the_client():
    assert PROXIES.client(scope(BALANCER, "203.0.113.7")) == "203.0.113.7"
    assert PROXIES.client(scope(BALANCER, "203.0.113.7, 10.0.0.9")) == "203.0.113.7", "past our own proxies"


def test_anyone_else_cannot_choose_their_address_by_sending_the_header():
    assert PROXIES.client(scope("198.51.100.20", "203.0.113.7")) == "198.51.100.20"
    assert TrustedProxies().client(scope("127.0.0.1", "203.0.113.7")) == "127.0.0.1", "no proxy trusted by default"


def test_a_spoofed_hop_before_the_proxy_does_not_hide_the_real_client():
    """A client behind the balancer prepends a fake address: the balancer appends the real one, which counts."""
    assert PROXIES.client(scope(BALANCER, "1.2.3.4, 198.51.100.20")) == "198.51.100.20"
    assert PROXIES.client(scope(BALANCER, "not-an-address")) == BALANCER


def api_from(peer: str, tmp_path, proxies: TrustedProxies) -> httpx.AsyncClient:
    _, gateway, _ = gateway_app(tmp_path, limits=Limits(RateLimiter(1, 1.0), RateLimiter(1000), RateLimiter(1000)))
    api = build_api(gateway, proxies=proxies)
    return httpx.AsyncClient(transport=httpx.ASGITransport(api, client=(peer, 40000)), base_url="http://gateway")


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        pytest.param(BALANCER, [200, 200, 429], id="behind-the-balancer-each-citizen-has-a-bucket"),
        pytest.param("198.51.100.20", [200, 429, 429], id="a-spoofing-client-shares-its-own-bucket"),
    ],
)
async def test_the_address_limit_follows_the_client_a_trusted_proxy_names(tmp_path, peer, expected):
    async with api_from(peer, tmp_path, PROXIES) as client:
        statuses = [
            (await client.get("/health", headers={"X-Forwarded-For": address})).status_code
            for address in ("203.0.113.7", "203.0.113.8", "203.0.113.8")
        ]
    assert statuses == expected

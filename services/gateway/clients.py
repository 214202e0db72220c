"""Who is at the other end: the socket's peer, or the client that a trusted proxy names in X-Forwarded-For.

Behind a load balancer every request comes from the balancer's address; only a proxy configured as
trusted (PASPOR_GATEWAY_TRUSTED_PROXIES) may say who the client really is. From anyone else the header
is ignored, so that a client cannot pick its own rate-limit bucket by sending it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The networks whose X-Forwarded-For header is believed."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def __contains__(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, scope: Mapping[str, Any]) -> str:
        """The client's address: the peer, unless the peer is a trusted proxy that forwarded for someone."""
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if not self.networks or peer not in self:
            return peer
        forwarded = [v for k, v in scope["headers"] if k == b"x-forwarded-for"]
        hops = [hop.strip() for value in forwarded for hop in value.decode("latin-1").split(",") if hop.strip()]
        # The right-most hops were added by our own proxies; the first one they did not add is the client.
        for hop in reversed(hops):
            if hop not in self:
                return hop if _is_address(hop) else peer
        return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False

"""Identity providers' public keys (JWKS), from a file or a URL, cached."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

REFETCH_UNKNOWN_KID_AFTER = 30.0  # a token with an unknown key id refetches at most this often


class KeysUnavailable(Exception):
    """The provider's keys could not be read (network, file, or bad JSON)."""


def read_location(location: str) -> dict[str, Any]:
    """The JWKS document at a URL or in a file."""
    try:
        if location.startswith(("https://", "http://")):
            response = httpx.get(location, timeout=3.0, follow_redirects=True)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(location).read_text())
    except (httpx.HTTPError, OSError, ValueError) as error:
        raise KeysUnavailable(f"cannot read keys from {location}: {error}") from None


class JwksSource:
    """The keys of one provider: fetched when first needed, kept for `ttl` seconds, by key id."""

    def __init__(
        self,
        location: str,
        ttl: float = 3600.0,
        read: Callable[[str], dict[str, Any]] = read_location,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location, self.ttl, self.read, self.clock = location, ttl, read, clock
        self.keys: dict[str | None, Any] = {}
        self.fetched_at: float | None = None
        self.lock = threading.Lock()

    def key(self, kid: str | None) -> Any:
        """The public key with this id (or the only key, when the token names none)."""
        with self.lock:
            if self._stale() or (kid not in self.keys and self._may_refetch()):
                self._refresh()
            if kid is None and len(self.keys) == 1:
                return next(iter(self.keys.values()))
            if kid not in self.keys:
                raise KeysUnavailable(f"no key {kid!r} at {self.location}")
            return self.keys[kid]

    def _stale(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at > self.ttl

    def _may_refetch(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at > REFETCH_UNKNOWN_KID_AFTER

    def _refresh(self) -> None:
        document = self.read(self.location)
        try:
            keyset = jwt.PyJWKSet.from_dict(document)
        except jwt.PyJWTError as error:
            raise KeysUnavailable(f"bad JWKS at {self.location}: {error}") from None
        self.keys = {key.key_id: key.key for key in keyset.keys}
        self.fetched_at = self.clock()

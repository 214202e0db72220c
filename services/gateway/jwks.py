"""Identity providers' public keys (JWKS), from a file or a URL, cached; the last good keys outlive an outage."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

REFETCH_UNKNOWN_KID_AFTER = 30.0  # a token with an unknown key id refetches at most this often
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # after a failed refresh, the next one waits 1 s, 2 s, 4 s... at most 60 s

log = logging.getLogger("paspor.gateway.jwks")


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
    """The keys of one provider: fetched when first needed, kept for `ttl` seconds, by key id.

    When a refresh fails, the last good keys stay in use (stale-while-error) and the next attempt
    waits longer each time, so a provider's outage neither locks everyone out nor is hammered by
    every sign-in. Only while no key was ever read does a failure refuse the token.
    """

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
        self.failures = 0
        self.retry_at = 0.0
        self.lock = threading.Lock()

    def key(self, kid: str | None) -> Any:
        """The public key with this id (or the only key, when the token names none)."""
        if self._wanted(kid):
            # With keys in hand, a sign-in never waits for another thread's refresh: it uses what there is.
            if self.lock.acquire(blocking=not self.keys):
                try:
                    if self._wanted(kid):
                        self._refresh()
                finally:
                    self.lock.release()
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        if kid not in self.keys:
            raise KeysUnavailable(f"no key {kid!r} at {self.location}")
        return self.keys[kid]

    def _wanted(self, kid: str | None) -> bool:
        """A refresh is due (stale keys, or an unknown key id) and not held back by a recent failure."""
        at = self.clock()
        if at < self.retry_at:
            return False
        stale = self.fetched_at is None or at - self.fetched_at > self.ttl
        unknown = kid not in self.keys and (self.fetched_at is None or at - self.fetched_at > REFETCH_UNKNOWN_KID_AFTER)
        return stale or unknown

    def _refresh(self) -> None:
        try:
            document = self.read(self.location)
            try:
                keyset = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWTError as error:
                raise KeysUnavailable(f"bad JWKS at {self.location}: {error}") from None
        except KeysUnavailable as error:
            self.failures += 1
            wait = min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MAX)
            self.retry_at = self.clock() + wait
            if not self.keys:
                raise
            log.warning("%s; using the last good keys, next try in %.0f s", error, wait)
            return
        self.keys = {key.key_id: key.key for key in keyset.keys}
        self.fetched_at = self.clock()
        self.failures, self.retry_at = 0, 0.0

"""Rate limits per client address, account and device: token buckets that answer with Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .expiring import Expiring
from .problems import ProblemError


@dataclass
class Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`rate` requests per second per key, with a burst of `rate * burst_seconds`.

    A bucket left alone for `capacity / rate` seconds is full again, the same as no bucket: it is forgotten
    then (and the least recently used first beyond `keys`).
    """

    def __init__(
        self, rate: float, burst_seconds: float = 2.0, keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.clock = rate, max(1.0, rate * burst_seconds), clock
        self.buckets: Expiring[str, Bucket] = Expiring(self.capacity / rate, keys, self._ticks)
        self.lock = threading.Lock()  # token checks run on the event loop and in FastAPI's worker threads

    def wait_needed(self, key: str) -> float:
        """Take one token for `key`: 0 when allowed, else the seconds until one is available."""
        with self.lock:
            return self._take(key, self.clock())

    def _ticks(self) -> float:
        return self.clock()

    def _take(self, key: str, now: float) -> float:
        bucket = self.buckets.get(key) or Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self.buckets.put(key, bucket)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def check(self, kind: str, key: str) -> None:
        """Raise `rate_limited` (429, with Retry-After) when `key` went over its rate."""
        wait = self.wait_needed(f"{kind}:{key}")
        if wait > 0:
            raise ProblemError(
                "rate_limited",
                f"Too many requests from this {kind}; slow down.",
                f"Terlalu banyak permintaan dari {INDONESIAN[kind]} ini; coba lagi nanti.",
                retry_after_seconds=max(1, math.ceil(wait)),
            )


INDONESIAN = {"address": "alamat", "account": "akun", "device": "perangkat"}


@dataclass
class Limits:
    """The gateway's three limiters."""

    address: RateLimiter
    account: RateLimiter
    device: RateLimiter

    @classmethod
    def per_second(cls, address: float, account: float, device: float, burst_seconds: float = 2.0) -> Limits:
        return cls(
            RateLimiter(address, burst_seconds), RateLimiter(account, burst_seconds), RateLimiter(device, burst_seconds)
        )

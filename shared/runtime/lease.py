"""Leases in a NATS key-value bucket: one holder per key, renewed well within the bucket's TTL.

A lease is a key of a bucket whose entries expire (`max_age`, the TTL). It is taken with `create`
(only if the key is absent) and renewed with `update` on the revision the holder last wrote
(compare-and-set): a renewal that finds another revision means the lease expired and someone else
may hold it. The holder believes it holds the lease only until TTL minus a margin after it *sent*
its last successful renewal: the server stored that entry later, so it expires later still. The
timing is the process's monotonic clock (injectable), not the domain clock: it measures how long
the process has been silent, it decides nothing about bookings.

A lease alone cannot stop a paused process from writing after it expired (a long garbage
collection, a blocked thread): what a holder writes must also be fenced by the epoch it got when
it took the lease (services/quota/fence.py; docs/adr/0009-partition-leases.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

LEASE_BUCKET = "paspor_leases"  # the quota workers' partition leases (key `quota-pNNofM`)
log = logging.getLogger(__name__)
Monotonic = Callable[[], float]


class LeaseLost(Exception):
    """This process does not hold (or no longer holds) the lease of what it was asked to decide."""


@dataclass(frozen=True)
class LeaseTerms:
    """How long a lease lives unrenewed (the bucket's TTL) and how often its holder renews it."""

    ttl: float = 10.0
    renew_every: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.renew_every <= self.ttl / 2:
            raise ValueError(f"renew at most every half TTL ({self.ttl / 2:g} s), not every {self.renew_every:g} s")

    @property
    def margin(self) -> float:
        """Given up before the server would expire it: clocks drift, a renewal's answer takes time."""
        return self.ttl / 10

    @property
    def poll_every(self) -> float:
        """How often a waiting process looks whether the lease is free."""
        return self.renew_every / 2


@dataclass
class Lease:
    """A lease this process holds: the revision its next renewal must extend, and until when it is surely ours."""

    key: str
    revision: int
    valid_until: float

    @classmethod
    def taken(cls, key: str, revision: int, sent_at: float, terms: LeaseTerms) -> Lease:
        return cls(key, revision, sent_at + terms.ttl - terms.margin)

    def renewed(self, revision: int, sent_at: float, terms: LeaseTerms) -> None:
        self.revision = revision
        self.valid_until = max(self.valid_until, sent_at + terms.ttl - terms.margin)

    def held(self, now: float) -> bool:
        return now < self.valid_until


def worker_name() -> str:
    """Who holds a lease, as operators read it: host, process, and a random part (a restarted pid differs)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """Takes, renews and gives up the leases of some keys of one bucket, one attempt at a time.

    `kv` is a nats-py `KeyValue` (or anything with its `create`, `update`, `get`, `delete`).
    """

    def __init__(
        self,
        kv: Any,
        terms: LeaseTerms,
        worker: str,
        clock: Monotonic = time.monotonic,
        is_dead: Callable[[str], bool] | None = None,
    ) -> None:
        self.kv, self.terms, self.worker, self.clock = kv, terms, worker, clock
        self.is_dead = is_dead or dead_on_this_host  # a holder known dead need not be waited for
        self.held: dict[str, Lease] = {}
        self.holders: dict[str, str] = {}  # key -> who holds it, as last seen while waiting
        self.taken = self.lost = 0  # counters, for tests and metrics

    def _value(self, **extra: object) -> bytes:
        return json.dumps({"worker": self.worker, **extra}).encode()

    async def try_take(self, key: str) -> Lease | None:
        """Take the lease if it is free (or still ours from before); None while another holds it."""
        sent = self.clock()
        try:
            revision = await self.kv.create(key, self._value())
        except KeyWrongLastSequenceError:
            revision = await self._ours_from_before(key)
            if revision is None:
                return None
        lease = self.held[key] = Lease.taken(key, revision, sent, self.terms)
        self.holders[key] = self.worker
        self.taken += 1
        return lease

    async def _ours_from_before(self, key: str) -> int | None:
        """The entry's holder; a lease this worker wrote before it lost track of it is taken back by CAS."""
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:  # it expired between the two calls: next attempt
            return None
        current = self.holders[key] = holder(entry.value)
        if current != self.worker and not self.is_dead(current):
            return None
        if current != self.worker:
            log.warning(
                "lease %s: its holder %s is dead (a process of this host that is gone): taken over", key, current
            )
        try:
            revision: int = await self.kv.update(key, self._value(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return None
        return revision

    async def renew(self, key: str, **extra: object) -> bool:
        """Extend a held lease by compare-and-set; False once it is lost (taken over, or expired unrenewed)."""
        lease = self.held.get(key)
        if lease is None:
            return False
        sent = self.clock()
        try:
            revision = await self.kv.update(key, self._value(**extra), last=lease.revision)
        except KeyWrongLastSequenceError:
            return self._lose(key, "another revision was written: it expired or was taken")
        except (NatsError, OSError, TimeoutError) as error:
            if lease.held(self.clock()):
                log.warning(
                    "lease %s: renewal failed (%r); still ours for %.1f s", key, error, lease.valid_until - sent
                )
                return True
            return self._lose(key, f"not renewed within its TTL ({error!r})")
        lease.renewed(revision, sent, self.terms)
        return lease.held(self.clock()) or self._lose(key, "its renewal came back too late")

    def still_held(self, key: str) -> bool:
        lease = self.held.get(key)
        return lease is not None and lease.held(self.clock())

    def drop(self, key: str, why: str) -> None:
        """Stop believing in a lease (its next renewal says it is lost); taken again, it gets a new epoch."""
        self._lose(key, why)

    def _lose(self, key: str, why: str) -> bool:
        if self.held.pop(key, None) is not None:
            self.lost += 1
            log.error("lease %s lost: %s", key, why)
        return False

    async def give_up(self, key: str) -> None:
        """Delete a held lease (on the revision we wrote) so that a waiting worker takes it at once."""
        lease = self.held.pop(key, None)
        if lease is not None:
            try:
                await self.kv.delete(key, last=lease.revision)
            except (NatsError, OSError, TimeoutError) as error:
                log.warning("lease %s not given up (%r): it expires within its TTL", key, error)


def dead_on_this_host(name: str) -> bool:
    """Whether a lease's holder is a process of this host that is gone (a restarted worker need not wait
    for its killed predecessor's lease to expire). False when unsure: another host, or a live process."""
    parts = name.rsplit("-", 2)  # worker_name(): host-pid-random (a host name may hold dashes)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid_text = parts[1]
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # this process has its pid, under another name: that holder is an earlier incarnation
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def holder(value: bytes | None) -> str:
    """Who wrote a lease entry ('?' if it cannot be read)."""
    try:
        return str(json.loads(value or b"{}").get("worker", "?"))
    except (ValueError, AttributeError):
        return "?"


async def hold_forever(
    keeper: LeaseKeeper,
    key: str,
    on_taken: Callable[[Lease], Awaitable[dict[str, object]]],
    on_lost: Callable[[], Awaitable[None]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Wait for the lease of `key`, hold it while renewing, and start over when it is lost; until cancelled.

    `on_taken` runs once the lease is ours (its answer is written with each renewal, for operators);
    `on_lost` when it is not ours any more. On cancellation the lease is given up.
    """
    try:
        while True:
            await wait_for_lease(keeper, key, sleep)
            try:
                extra = await on_taken(keeper.held[key])
            except Exception:
                log.exception("lease %s: taking over failed; giving it up", key)
                await keeper.give_up(key)
                await on_lost()
                await sleep(keeper.terms.renew_every)
                continue
            while await keeper.renew(key, **extra):
                await sleep(keeper.terms.renew_every)
            await on_lost()
    finally:
        if key in keeper.held:
            await asyncio.shield(keeper.give_up(key))


async def wait_for_lease(keeper: LeaseKeeper, key: str, sleep: Callable[[float], Awaitable[None]]) -> None:
    """Try to take the lease until it is ours, saying (once per holder) who holds it meanwhile."""
    told = ""
    while True:
        try:
            if await keeper.try_take(key) is not None:
                log.info("lease %s taken by %s", key, keeper.worker)
                return
        except (NatsError, OSError, TimeoutError) as error:
            log.warning("lease %s: cannot ask for it (%r); trying again", key, error)
        current = keeper.holders.get(key, "?")
        if current != told:
            log.warning("lease %s held by %s: waiting for it to be free", key, current)
            told = current
        await sleep(keeper.terms.poll_every)

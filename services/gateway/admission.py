"""Admission to the booking path, shared by every gateway replica through a NATS key-value bucket.

Each `POST /v1/bookings` spends one attempt of its account's budget and one of its client address's,
counted for the whole fleet in the bucket `paspor_admission` (one key per kind, hashed key and window;
compare-and-set on the key's revision). A replica leases a few attempts at a time (`allowance.py`), so
most requests are admitted from memory. When the bucket cannot be reached in time, the replica counts
on its own (the per-replica budget, as before sharing): logged once per outage, metered, never a 5xx.
No request waits for a failing bucket: the background task looks at it every second and shares again
once it answers (making it anew if a restart of NATS lost it; ADR 0013).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable

import nats.errors
from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from starlette.types import Scope

from shared.events import ADMISSION_BUCKET
from shared.runtime.bus import ensure_bucket

from .allowance import Allowance, Budget, LocalCounter
from .metrics import Metrics
from .problems import ProblemError

log = logging.getLogger(__name__)
ADMITTED = "paspor.admitted"  # set on a request's scope once it spent its attempts (the door or the route)
CLIENT = "paspor.client"  # the client's address, as the guard found it (behind trusted proxies too)
WORDS = {"account": "akun", "address": "alamat"}
Unavailable = (TimeoutError, nats.errors.Error, ValueError)  # no answer in time, no connection, a damaged value


def counter_key(kind: str, key: str, window: int) -> str:
    """The bucket's key: a hash (KV keys are restricted; no account or address in clear), then the window."""
    return f"{kind}.{hashlib.sha256(key.encode()).hexdigest()[:32]}.{window}"


class SharedCounter:
    """The fleet's counters in the bucket: each lease is a compare-and-set on the key's last revision."""

    def __init__(self, kv: KeyValue, attempts: int = 8) -> None:
        self.kv, self.attempts = kv, attempts

    async def add(self, key: str, size: Callable[[int], int], counted: int, revision: int) -> tuple[int, int, int]:
        """Lease `size(counted)` attempts, from the counter last seen at (`counted`, `revision`; 0: unseen):
        (leased, counted after, revision after)."""
        for _ in range(self.attempts):
            leased = size(counted)
            if leased == 0:
                return 0, counted, revision
            value = str(counted + leased).encode()
            try:
                if revision == 0:
                    revision = await self.kv.create(key, value)
                else:
                    revision = await self.kv.update(key, value, last=revision)
                return leased, counted + leased, revision
            except KeyWrongLastSequenceError:  # another replica leased meanwhile: read, then try again
                counted, revision = await self._current(key)
        raise TimeoutError(f"counter {key} contended {self.attempts} times in a row")

    async def _current(self, key: str) -> tuple[int, int]:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:  # deleted or expired meanwhile: it starts again
            return 0, 0
        return int(entry.value or b"0"), entry.revision or 0  # a damaged value: ValueError (the bucket unusable)


class Admission:
    """This replica's admission: leases per budget, from the shared bucket when it answers, else its own."""

    def __init__(
        self,
        budgets: list[Budget],
        metrics: Metrics,
        clock: Callable[[], float],
        shared: bool = True,
        timeout: float = 0.5,
    ) -> None:
        self.allowances = {b.kind: Allowance(b, clock) for b in budgets}
        self.metrics, self.shared, self.timeout = metrics, shared, timeout
        self.local = LocalCounter(max((b.window for b in budgets), default=60.0), clock)
        self.counter: SharedCounter | None = None  # set once the bucket is open (`run`)
        self.failing_since: float | None = None  # monotonic time of the outage's first failure
        self.pending: dict[str, asyncio.Future[None]] = {}  # the lease being taken, per key
        self.waiting: dict[str, int] = {}  # attempts waiting for a lease, per key
        self.ahead: set[asyncio.Task[None]] = set()  # leases taken ahead for busy keys
        self.lost = asyncio.Event()

    def counting_in(self, counter: SharedCounter) -> None:
        """Count in the shared bucket from now on (again, after an outage)."""
        self.counter = counter
        self.metrics.admission_shared.set(1)
        if self.failing_since is not None:
            log.warning(
                "gateway: shared admission back after %.1f s on this replica's own budgets",
                time.monotonic() - self.failing_since,
            )
            self.failing_since = None

    async def admit(self, account: str, address: str) -> ProblemError | None:
        """Spend one attempt of the account's budget and one of the address's: None, or the refusal (429)."""
        for kind, key in (("account", account), ("address", address)):
            if kind in self.allowances and not await self._spend(kind, key):
                self.metrics.admission_refusals.labels(kind).inc()
                return refused(kind, self.allowances[kind].retry_after())
        return None

    async def _spend(self, kind: str, key: str) -> bool:
        allowance = self.allowances[kind]
        verdict = allowance.take(key)  # most attempts: from the lease in memory
        if verdict is None:
            verdict = await self._after_lease(kind, key)
        if verdict:
            ahead = allowance.running_low(key)
            if ahead:  # a busy key: its next lease is taken before anyone waits for it
                self._lease_ahead(kind, key, ahead)
        return verdict

    async def _after_lease(self, kind: str, key: str) -> bool:
        allowance, name = self.allowances[kind], f"{kind}:{key}"
        self.waiting[name] = self.waiting.get(name, 0) + 1  # the next lease takes one for each
        try:
            verdict = None
            while verdict is None:  # each lease either admits some of those waiting or shows the budget spent
                await self._leased(kind, key, name)
                verdict = allowance.take(key)
            return verdict
        finally:
            self.waiting[name] -= 1
            if not self.waiting[name]:
                del self.waiting[name]

    def _lease_ahead(self, kind: str, key: str, size: int) -> None:
        name = f"{kind}:{key}"
        if name not in self.pending:
            task = asyncio.create_task(self._leased(kind, key, name, size))
            self.ahead.add(task)  # kept until done (the loop holds tasks weakly)
            task.add_done_callback(self.ahead.discard)

    async def _leased(self, kind: str, key: str, name: str, ahead: int = 0) -> None:
        """Take a lease for `key`, or wait for the one a request on the same key is taking already."""
        pending = self.pending.get(name)
        if pending is not None:
            await asyncio.shield(pending)
            return
        self.pending[name] = done = asyncio.get_running_loop().create_future()
        try:
            await self._lease(kind, key, name, ahead)
        finally:
            del self.pending[name]
            done.set_result(None)

    async def _lease(self, kind: str, key: str, name: str, ahead: int = 0) -> None:
        """Take `ahead` attempts, or one for each attempt waiting (at least the budget's usual lease)."""
        allowance = self.allowances[kind]
        window, demand = allowance.window(), [1]

        def size(counted: int) -> int:
            demand[0] = max(ahead, self.waiting.get(name, 1))
            return allowance.budget.lease_size(counted, demand[0])

        held = allowance.seen(key)
        if self._shared_now():
            assert self.counter is not None
            counted, revision = (held.counted, held.revision) if held else (0, 0)
            shared_key = counter_key(kind, key, window)
            try:
                leased, counted, revision = await self.counter.add(shared_key, size, counted, revision)
            except Unavailable as error:
                self._failed(error)
            else:
                self.metrics.admission_leases.labels(kind, "shared").inc()
                allowance.granted(key, window, leased, counted, revision, busy=demand[0] > 1)
                return
        leased, counted = self.local.add(name, window, size)
        self.metrics.admission_leases.labels(kind, "local").inc()
        if self.shared:
            self.metrics.admission_fallbacks.inc()
        allowance.granted(key, window, leased, counted, 0, busy=demand[0] > 1)

    def _shared_now(self) -> bool:
        """Whether to ask the bucket: it is open and not failing (after a failure, `run` says when it is back)."""
        return self.shared and self.counter is not None and self.failing_since is None

    def _failed(self, error: BaseException) -> None:
        self.lost.set()  # `run` looks at the bucket again (made anew if NATS lost it)
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            self.metrics.admission_shared.set(0)
            log.warning(
                "gateway: shared admission unavailable (%r); counting on this replica's own budgets until the "
                "%s bucket answers again",
                error,
                ADMISSION_BUCKET,
            )

    async def run(self, nc: Client, replicas: int = 1, retry_after: float = 1.0) -> None:
        """Open the bucket, and look at it again whenever a lease fails, for ever.

        The bucket is kept in memory: a restart of NATS loses it. The services make it at start, and
        so does the gateway when it finds it gone (it is the only one that counts in it).
        """
        while True:
            try:
                self.counting_in(SharedCounter(await self._bucket(nc, replicas)))
                self.lost.clear()
                await self.lost.wait()
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("gateway: cannot open the %s bucket (%r); trying again", ADMISSION_BUCKET, error)
            await asyncio.sleep(retry_after)

    async def _bucket(self, nc: Client, replicas: int) -> KeyValue:
        """The bucket, its operations bounded by `timeout` (nats-py's own: no task per lease to time it)."""
        try:
            return await nc.jetstream(timeout=self.timeout).key_value(ADMISSION_BUCKET)
        except BucketNotFoundError:
            log.warning("gateway: no %s bucket (NATS restarted?); making it", ADMISSION_BUCKET)
            await ensure_bucket(nc.jetstream(), ADMISSION_BUCKET, replicas)
            return await nc.jetstream(timeout=self.timeout).key_value(ADMISSION_BUCKET)


def refused(kind: str, wait: float) -> ProblemError:
    """The 429 of a spent budget, with the seconds until the next window."""
    return ProblemError(
        "rate_limited",
        f"Too many booking attempts from this {kind}; try again later.",
        f"Terlalu banyak percobaan pemesanan dari {WORDS[kind]} ini; coba lagi nanti.",
        retry_after_seconds=max(1, math.ceil(wait)),
    )


async def admitted(admission: Admission | None, scope: Scope, account: str) -> ProblemError | None:
    """Admit one booking request once (the door, or the route for what the door let through unchecked)."""
    if admission is None or scope.get(ADMITTED):
        return None
    scope[ADMITTED] = True  # before awaiting: the route does not count it again
    client = scope.get("client")
    address = scope.get(CLIENT) or (client[0] if client else "unknown")
    return await admission.admit(account, address)

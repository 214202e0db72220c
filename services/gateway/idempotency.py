"""Idempotency keys shared by every gateway replica: a retry through another replica gets the same answer.

Each gateway remembers what it did with a booking request's (account, idempotency key): sent it on,
or refused it at once and why. Alone, that memory is per process: a retry landing on another replica
after the session sold out would be refused `sold_out` although the first replica sent the original
on and it was confirmed. So each decision is also put in a NATS key-value bucket (a day's TTL,
`PASPOR_IDEMPOTENCY_TTL_SECONDS`, keyed by a hash: no account in clear), and every replica watches the bucket into a local mirror:
the lookup on the request's path stays in memory.

The mirror forgets a decision when the bucket does: the TTL after this replica saw
it (a watch started again sees the bucket's entries anew, so one may outlive the bucket's copy by the
time between), and the oldest first beyond `keep` entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KV_DEL, KV_PURGE

from shared.events import IDEMPOTENCY_BUCKET, IDEMPOTENCY_TTL_SECONDS

from .expiring import Expiring, seconds

log = logging.getLogger(__name__)
SENT_ON = b"-"  # the value of a request sent on; a refusal's value is its reason


def shared_key(account: str, idempotency_key: str) -> str:
    """The bucket's key for one request: a hash (KV keys are restricted, and the account stays private)."""
    return "k" + hashlib.sha256(f"{account}\n{idempotency_key}".encode()).hexdigest()[:40]


class SharedKeys:
    """This replica's mirror of the bucket, and the puts of its own decisions (sent in the background)."""

    def __init__(
        self, keep: int = 200_000, clock: Callable[[], float] = seconds, ttl: float = IDEMPOTENCY_TTL_SECONDS
    ) -> None:
        self.mirror: Expiring[str, str | None] = Expiring(ttl, keep, clock)
        self.outbox: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self.watching = asyncio.Event()

    def lookup(self, account: str, idempotency_key: str) -> tuple[bool, str | None]:
        """Whether any replica decided this request, and how (None: sent on)."""
        return self.mirror.lookup(shared_key(account, idempotency_key))

    def share(self, account: str, idempotency_key: str, refusal: str | None) -> None:
        """Tell the other replicas (without waiting: the request's answer does not wait for NATS)."""
        key = shared_key(account, idempotency_key)
        self.mirror.put(key, refusal)
        self.outbox.put_nowait((key, refusal))

    async def run(self, js: JetStreamContext, retry_after: float = 1.0) -> None:
        """Watch the bucket and put this replica's decisions, for ever (a lost watch is started again)."""
        while True:
            try:
                kv = await js.key_value(IDEMPOTENCY_BUCKET)
                await asyncio.gather(self._watch(kv), self._put(kv))
            except BucketNotFoundError:
                log.warning("gateway: no %s bucket yet (made by the services at start); waiting", IDEMPOTENCY_BUCKET)
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("gateway: shared idempotency keys lost (%s); watching again", error)
            self.watching.clear()
            await asyncio.sleep(retry_after)

    async def _watch(self, kv) -> None:  # noqa: ANN001 - nats-py's KeyValue
        watcher = await kv.watchall()
        try:
            async for entry in watcher:
                if entry is None:  # the values there were are all in
                    self.watching.set()
                elif entry.operation not in (KV_DEL, KV_PURGE) and entry.value is not None:
                    self.mirror.put(entry.key, None if entry.value == SENT_ON else entry.value.decode())
        finally:
            with contextlib.suppress(nats.errors.Error):
                await watcher.stop()

    async def _put(self, kv) -> None:  # noqa: ANN001
        while True:
            key, refusal = await self.outbox.get()
            try:
                await kv.put(key, SENT_ON if refusal is None else refusal.encode())
            except BaseException:
                self.outbox.put_nowait((key, refusal))  # put again once the connection is back
                raise

"""Connecting to NATS and declaring the streams of the wire contract."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError, ServiceUnavailableError
from nats.js.kv import KeyValue

from shared.events import (
    ADMISSION_BUCKET,
    ADMISSION_TTL_SECONDS,
    AVAILABILITY_BUCKET,
    IDEMPOTENCY_BUCKET,
    IDEMPOTENCY_TTL_SECONDS,
    STREAM_MAX_AGE_DAYS,
    STREAMS,
    StreamSpec,
)

if TYPE_CHECKING:
    from .natsauth import NatsLogin

T = TypeVar("T")
# Key-value buckets, replicated like the streams: the relays' positions, the availability read model.
RELAY_BUCKET = "paspor_relay"
BUCKETS = (RELAY_BUCKET, AVAILABILITY_BUCKET, IDEMPOTENCY_BUCKET, ADMISSION_BUCKET)
# Counters, not records: the admission bucket lives in memory (no disk write, no fsync per lease); a
# restart of NATS only starts the current windows' budgets afresh (ADR 0013).
BUCKET_STORAGE = {ADMISSION_BUCKET: api.StorageType.MEMORY}
# A cluster that is starting (or has just lost a node) answers JetStream API calls slowly for a while.
STARTUP_PATIENCE = 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """How long NATS keeps what it carries (PASPOR_STREAM_MAX_AGE_DAYS, PASPOR_IDEMPOTENCY_TTL_SECONDS).

    The event stores keep every event for good; the streams are the wire, kept long enough for every
    consumer and for `paspor audit --jetstream`, which compares only what they still hold.
    """

    stream_max_age_days: float = STREAM_MAX_AGE_DAYS
    idempotency_ttl_seconds: float = IDEMPOTENCY_TTL_SECONDS

    def bucket_ttl(self, bucket: str) -> float | None:
        """Seconds a bucket's entries live (None: for ever: the relays' positions, the availability)."""
        return {IDEMPOTENCY_BUCKET: self.idempotency_ttl_seconds, ADMISSION_BUCKET: ADMISSION_TTL_SECONDS}.get(bucket)


async def connect(servers: list[str], name: str, login: NatsLogin | None = None) -> Client:
    """A NATS connection that reconnects forever (a restart of the server is not an error), logged in as
    `login` says (its nkey, inbox and TLS)."""
    return await nats.connect(
        **(login.connect_options() if login is not None else {}),
        servers=servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
    )


async def patiently(call: Callable[[], Awaitable[T]], patience: float = STARTUP_PATIENCE) -> T:
    """A JetStream API call, retried while the cluster is electing leaders (timeouts, 503)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await call()
        except (NatsTimeout, ServiceUnavailableError) as error:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("JetStream not answering yet (%r); retrying", error)
            await asyncio.sleep(0.5)


async def ensure_streams(js: JetStreamContext, replicas: int = 1, retention: Retention = Retention()) -> None:
    """Create (or bring up to date) every stream and key-value bucket the system uses."""
    for spec in STREAMS:
        await patiently(functools.partial(_ensure_stream, js, spec, replicas, retention))
    for bucket in BUCKETS:
        await patiently(functools.partial(ensure_bucket, js, bucket, replicas, retention))


async def open_bucket(js: JetStreamContext, bucket: str, visible_within: float = 10.0) -> KeyValue:
    """A bucket `ensure_streams` created (with the configured replicas).

    In a cluster a bucket another process just created may take a moment to be visible from this
    node: it is looked for again for `visible_within` seconds before it is created here (with one
    replica: a test's own connection that never declared the streams).
    """
    deadline = asyncio.get_running_loop().time() + visible_within
    while True:
        try:
            return await patiently(functools.partial(js.key_value, bucket))
        except NotFoundError:
            if asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.2)
                continue
        try:
            return await js.create_key_value(bucket=bucket, history=1)
        except BadRequestError:  # it appeared meanwhile, with its own settings: use it
            deadline = asyncio.get_running_loop().time() + visible_within


async def _ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int, retention: Retention) -> None:
    config = api.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=retention.stream_max_age_days * 86400,
        duplicate_window=spec.duplicate_window_seconds,
        num_replicas=replicas,
    )
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", spec.name)
        return
    try:
        await js.update_stream(config)
    except BadRequestError as error:
        log.warning("stream %s kept as it is: %s", spec.name, error)


async def ensure_bucket(js: JetStreamContext, bucket: str, replicas: int, retention: Retention = Retention()) -> None:
    """Create one of the system's buckets with its settings (or bring an existing one to `replicas` and
    its configured TTL)."""
    ttl = retention.bucket_ttl(bucket)
    try:
        await js.create_key_value(
            bucket=bucket,
            history=1,
            replicas=replicas,
            ttl=ttl,
            storage=BUCKET_STORAGE.get(bucket, api.StorageType.FILE),
        )
    except BadRequestError:  # it exists with other settings (fewer replicas, another TTL): bring it up to date
        info = await js.stream_info(f"KV_{bucket}")
        if info.config.num_replicas == replicas and (info.config.max_age or 0) == (ttl or 0):
            return
        info.config.num_replicas, info.config.max_age = replicas, ttl
        await js.update_stream(info.config)
        log.info("bucket %s now has %d replicas, entries kept %s s", bucket, replicas, ttl or "for ever")

"""Connecting to NATS and declaring the streams of the wire contract."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError

from shared.events import STREAMS

log = logging.getLogger(__name__)


async def connect(servers: list[str], name: str) -> Client:
    """A NATS connection that reconnects forever (a restart of the server is not an error)."""
    return await nats.connect(
        servers=servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create (or bring up to date) every stream the system uses."""
    for spec in STREAMS:
        config = api.StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            description=spec.description,
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            max_age=spec.max_age_days * 86400,
            duplicate_window=spec.duplicate_window_seconds,
            num_replicas=replicas,
        )
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
            log.info("created stream %s", spec.name)
            continue
        try:
            await js.update_stream(config)
        except BadRequestError as error:
            log.warning("stream %s kept as it is: %s", spec.name, error)

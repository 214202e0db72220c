"""`paspor cluster health`: can this service's container reach what it needs?

Compose runs it as each service's health check: JetStream answers (through any of the configured
NATS nodes), the PostgreSQL event store accepts a connection, and, for a gateway, its /ready is 200.
"""

from __future__ import annotations

import asyncio

import httpx
import nats
import psycopg
from nats.errors import Error as NatsError

from paspor.natsserver import _quiet
from shared.runtime.settings import CommonSettings


async def _jetstream(settings: CommonSettings) -> str | None:
    servers = settings.nats_servers
    try:
        nc = await nats.connect(
            **settings.connect_options(),
            servers=servers,
            connect_timeout=2,
            max_reconnect_attempts=1,
            allow_reconnect=False,
            error_cb=_quiet,
        )
    except (TimeoutError, NatsError, OSError) as error:
        return f"NATS unreachable: {error!r}"
    try:
        await nc.jetstream(timeout=3).account_info()
        return None
    except (TimeoutError, NatsError) as error:
        return f"JetStream not answering: {error!r}"
    finally:
        await nc.close()


def _postgres(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as error:
        return f"PostgreSQL unreachable: {error}"


def _http(url: str) -> str | None:
    try:
        status = httpx.get(url, timeout=3).status_code
    except httpx.HTTPError as error:
        return f"{url} unreachable: {error!r}"
    return None if status == 200 else f"{url} answered {status}"


def problems(settings: CommonSettings, http: str | None = None) -> list[str]:
    """What is wrong, or nothing."""
    found = [asyncio.run(_jetstream(settings))]
    if settings.event_store == "postgres":
        found.append(_postgres(settings.postgres_url))
    if http:
        found.append(_http(http))
    return [problem for problem in found if problem]

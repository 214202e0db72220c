"""The simulated phones' HTTP: aiohttp on keep-alive connections, light enough that the client is not the limit.

Requests share at most `connections` open connections per client process, handed out first come, first
served (aiohttp's own pool lets a newcomer take a freed connection before those already waiting: in a
rush the first requests then waited minutes behind later ones). A phone waiting for a free connection is
waiting for the system: that wait is part of its latency. A phone that follows its pending booking's
event stream holds a connection of its own, as a real phone would, outside that limit.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# Below uvicorn's keep-alive (5 s): an idle connection is dropped by us before the server closes it under us.
KEEP_ALIVE_SECONDS = 4.0
REQUEST_TIMEOUT_SECONDS = 60.0


class TransportError(Exception):
    """No HTTP answer: the connection was refused, dropped, or timed out."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the parsed JSON, or None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def code(self) -> str | None:
        """A problem's stable code (RFC 9457 body), if the body is one."""
        return self.body.get("code") if isinstance(self.body, dict) else None


class FifoGate:
    """At most `size` holders at once; the others wait and are let in strictly in the order they came."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the place just as it was cancelled: pass it on
                self._release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self.waiting:  # the place goes straight to the longest waiting
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class Http:
    """One client process's HTTP session; use as `async with Http(400) as http`."""

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.gate = FifoGate(connections)
        self.session: aiohttp.ClientSession | None = None
        self.streams: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=KEEP_ALIVE_SECONDS)
        # No limit on the wait for a free connection (that wait is the system's slowness, measured); once
        # sent, a request waits at most REQUEST_TIMEOUT_SECONDS for its answer.
        timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=10, sock_read=REQUEST_TIMEOUT_SECONDS)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, json_serialize=_dumps)
        self.streams = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),  # `follow` bounds each stream itself
            json_serialize=_dumps,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in (self.session, self.streams):
            if session is not None:
                await session.close()

    async def call(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """One request and its whole answer; TransportError when there is none."""
        assert self.session is not None, "use Http as an async context manager"
        try:
            async with self.gate, self.session.request(method, url, json=json, headers=headers) as response:
                raw = await response.read()
                return Reply(response.status, _lower(response.headers), _parse(raw, response.content_type))
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransportError(f"{method} {url}: {type(error).__name__}: {error}") from None

    async def follow(
        self, url: str, headers: dict[str, str], settled: Callable[[dict], bool], seconds: float
    ) -> dict | None:
        """Read a server-sent event stream until a `status` event's data is settled; None if it ends first."""
        assert self.streams is not None, "use Http as an async context manager"
        try:
            async with asyncio.timeout(seconds):
                async with self.streams.get(url, headers=headers) as response:
                    if response.status != 200:
                        return None
                    event, data = "", ""
                    async for line in response.content:
                        text = line.decode().rstrip("\r\n")
                        if text.startswith("event:"):
                            event = text[6:].strip()
                        elif text.startswith("data:"):
                            data += text[5:].strip()
                        elif not text:
                            if event == "status" and data and settled(found := jsonlib.loads(data)):
                                return found
                            event, data = "", ""
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return None


def _dumps(value: Any) -> str:
    return jsonlib.dumps(value, separators=(",", ":"))


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw or "json" not in content_type:
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return None

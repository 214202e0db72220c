"""The outer layer of every request: size limit, rate limit per client address, metrics."""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admission import CLIENT
from .clients import TrustedProxies
from .metrics import Metrics
from .problems import ProblemError, response
from .ratelimit import RateLimiter


class BodyTooLarge(HTTPException):
    """The request body (sent without a length, in chunks) grew larger than the gateway accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class Guard:
    """Pure ASGI middleware (so that streamed responses, e.g. server-sent events, pass untouched)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        per_address: RateLimiter,
        metrics: Metrics,
        proxies: TrustedProxies | None = None,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app, self.max_body, self.per_address, self.metrics = app, max_body, per_address, metrics
        self.proxies = proxies or TrustedProxies()
        self.larger = larger or {}  # paths that take larger bodies (a photo of a ticket), and their limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status[0], time.perf_counter() - started)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.larger.get(scope["path"], self.max_body)
        refusal = self._refusal(scope, limit)
        if refusal is not None:
            return await refusal(scope, receive, send)
        await self.app(scope, self._limited(receive, limit), send)

    def _refusal(self, scope: Scope, limit: int) -> Any:
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return self._too_large(limit)
        address = scope[CLIENT] = self.proxies.client(scope)  # the booking path's admission reads it
        try:
            self.per_address.check("address", address)
        except ProblemError as error:
            return response(
                error.status,
                error.code,
                error.message_en,
                error.message_id,
                {"Retry-After": str(error.extra["retry_after_seconds"])},
            )
        return None

    @staticmethod
    def _too_large(limit: int) -> Any:
        return response(
            413,
            "payload_too_large",
            f"The request body is larger than {limit} bytes.",
            f"Isi permintaan lebih dari {limit} byte.",
        )

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        seen = [0]

        async def counting() -> Message:
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge(limit)
            return message

        return counting

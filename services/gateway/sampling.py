"""The gateway's sampling gate: a request is traced (through the standard FastAPI instrumentation) or not at all.

The OpenTelemetry ASGI middleware costs a fraction of a millisecond per request even when it records
nothing, several times what a refusal at the door costs. So the draw comes first: `PASPOR_TRACE_SAMPLE`
of the requests go through the instrumented application, the others through the same middleware stack
built without it, at the cost of one random number.
"""

from __future__ import annotations

import random

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from starlette.types import ASGIApp, Receive, Scope, Send


class SamplingGate:
    """Sends `ratio` of the HTTP requests to the instrumented application, the rest to the plain stack."""

    def __init__(self, api: FastAPI, provider: TracerProvider, ratio: float) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        self.api, self.ratio = api, ratio
        self.plain: ASGIApp = api.build_middleware_stack()  # the same middlewares, sharing their state
        FastAPIInstrumentor.instrument_app(
            api, tracer_provider=provider, exclude_spans=["receive", "send"], excluded_urls="health,ready,metrics"
        )
        self.draw = random.Random().random

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.draw() < self.ratio:
            return await self.api(scope, receive, send)
        scope["app"] = self.api  # as Starlette sets it before its stack
        await self.plain(scope, receive, send)

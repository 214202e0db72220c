"""The gateway service: settings, wiring and the runnable HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from pydantic import Field, model_validator

from shared.runtime.settings import CommonSettings

from .app import build_api
from .auth import DEV_ISSUER, DevIssuer, TokenVerifier
from .deps import Gateway
from .messaging import Bus

log = logging.getLogger(__name__)


class GatewaySettings(CommonSettings):
    """Gateway settings (PASPOR_GATEWAY_*)."""

    gateway_host: str = Field(default="127.0.0.1", description="Address to listen on.")
    gateway_port: int = Field(default=8080, ge=0, le=65535, description="HTTP port.")
    gateway_dev_issuer: bool = Field(default=False, description="DEVELOPMENT ONLY: local token issuer.")
    gateway_outcome_wait: float = Field(default=3.0, ge=0, le=30, description="Seconds to wait for an outcome.")
    gateway_distributed: bool = Field(default=False, description="Set in the distributed deployment.")

    @model_validator(mode="after")
    def _no_dev_issuer_when_distributed(self) -> GatewaySettings:
        if self.gateway_distributed and self.gateway_dev_issuer:
            raise ValueError("the development token issuer must not be enabled in the distributed mode")
        return self


def build(settings: GatewaySettings) -> tuple[FastAPI, Bus]:
    """The API and its bus, from settings."""
    broker = NatsBroker(settings.nats_servers, log_level=logging.DEBUG, max_reconnect_attempts=-1)
    bus = Bus(broker)
    issuers: dict[str, object] = {}
    dev = None
    if settings.gateway_dev_issuer:
        dev = DevIssuer(settings.data_dir / "keys")
        issuers[DEV_ISSUER] = dev.public_key
        log.warning("gateway: the DEVELOPMENT token issuer is enabled (POST /v1/dev/token)")
    gateway = Gateway(bus, TokenVerifier(issuers), dev, settings.gateway_outcome_wait)
    return build_api(gateway), bus


async def run(settings: GatewaySettings | None = None) -> None:
    """Serve HTTP until SIGTERM or Ctrl-C."""
    settings = settings or GatewaySettings()
    api, bus = build(settings)
    await bus.broker.start()
    bus.ready = True
    config = uvicorn.Config(api, host=settings.gateway_host, port=settings.gateway_port,
                            log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # ours above
    log.info("gateway ready on http://%s:%d", settings.gateway_host, settings.gateway_port)
    try:
        await server.serve()
    finally:
        await bus.broker.stop()
        log.info("gateway stopped")


def main() -> None:
    asyncio.run(run())

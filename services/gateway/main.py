"""The gateway service: wiring and the runnable HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal

import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from starlette.types import ASGIApp

from shared import clock
from shared.clock import use
from shared.runtime import tracing
from shared.runtime.bus import connect
from shared.runtime.store import data_key

from .admission import Admission
from .allowance import Budget
from .app import build_api
from .auth import DevIssuer, Issuer, TokenVerifier, dev_trust, jwks_trust
from .availability import AvailabilityView
from .callbacks import PAYMENT_SECRET_FILE, CallbackCheck
from .clients import TrustedProxies
from .deps import Gateway
from .dpop import ProofChecker
from .idempotency import SharedKeys
from .jwks import JwksSource
from .messaging import Bus
from .metrics import Metrics
from .ratelimit import Limits
from .routes_web import frontend_rules, sign_in_providers
from .sampling import SamplingGate
from .settings import GatewaySettings

log = logging.getLogger(__name__)
__all__ = ["GatewaySettings", "build", "run", "main"]


def trusted_issuers(settings: GatewaySettings) -> tuple[list[Issuer], DevIssuer | None]:
    """The configured identity providers, plus the development issuer when (and only when) enabled."""
    issuers = [
        jwks_trust(i.issuer, JwksSource(i.jwks, settings.gateway_jwks_ttl), i.provider, i.audience, i.grants_roles)
        for i in settings.gateway_issuers
    ]
    dev = None
    if settings.gateway_dev_issuer:
        dev = DevIssuer(settings.data_dir / "keys")
        issuers.append(dev_trust(dev))
        log.warning(
            "gateway: the DEVELOPMENT token issuer is enabled (POST /v1/dev/token): anyone who reaches %s can "
            "mint any token, an operator's too; it is allowed on a loopback address only",
            settings.gateway_host,
        )
    return issuers, dev


def payment_callbacks(settings: GatewaySettings) -> CallbackCheck:
    """The provider's shared secret (configured, else the data folder's) and the replay window."""
    secret = settings.gateway_payment_secret or data_key(settings.data_dir, PAYMENT_SECRET_FILE)
    return CallbackCheck(secret.encode(), dt.timedelta(seconds=settings.gateway_payment_window_seconds))


def admission(settings: GatewaySettings, metrics: Metrics) -> Admission:
    """The booking path's budgets per account and per client address, shared by the fleet unless turned off."""
    window, lease = settings.gateway_admission_window, settings.gateway_admission_lease
    budgets = [
        Budget("account", settings.gateway_admission_account, window, lease),
        Budget("address", settings.gateway_admission_address, window, lease),
    ]
    return Admission(
        budgets,
        metrics,
        lambda: clock.now().timestamp(),  # windows by the service's clock: every replica agrees on them
        shared=settings.gateway_admission_shared,
        timeout=settings.gateway_admission_timeout,
    )


def device_proofs(settings: GatewaySettings) -> ProofChecker | None:
    """The device-proof verifier (DPoP), or None when the operator chose devices named by a header."""
    if settings.gateway_device_proof == "header":
        log.warning(
            "gateway: citizens' devices are named by the X-Device-Id header (PASPOR_GATEWAY_DEVICE_PROOF=header): "
            "whoever learns a device id can use it; for API clients only, never for the public app"
        )
        return None
    log.info("gateway: citizens' devices prove their keys (DPoP proofs, %g s window)", settings.gateway_dpop_window)
    return ProofChecker(window=settings.gateway_dpop_window)


def build(settings: GatewaySettings) -> tuple[FastAPI, Bus]:
    """The API and its bus, from settings."""
    broker = NatsBroker(
        settings.nats_servers, log_level=logging.DEBUG, max_reconnect_attempts=-1, **settings.broker_options()
    )
    bus = Bus(broker, settings.gateway_request_timeout)
    issuers, dev = trusted_issuers(settings)
    limits = Limits.per_second(
        settings.gateway_rate_address,
        settings.gateway_rate_account,
        settings.gateway_rate_device,
        settings.gateway_rate_burst,
    )
    availability = (
        AvailabilityView(
            settings.quota_window_days,
            settings.quota_release_time,
            dt.timedelta(minutes=settings.quota_draw_before_minutes) if settings.quota_draw else None,
        )
        if settings.gateway_read_model
        else None
    )
    metrics = Metrics()
    gateway = Gateway(
        bus,
        TokenVerifier(issuers),
        dev,
        settings.gateway_outcome_wait,
        availability,
        limits,
        metrics,
        partitions=settings.partitions,
        sse_seconds=settings.gateway_sse_seconds,
        data_dir=settings.data_dir,
        shared_keys=SharedKeys(ttl=settings.idempotency_ttl_seconds) if availability is not None else None,
        payments=payment_callbacks(settings),
        admission=admission(settings, metrics),
        proofs=device_proofs(settings),
        public_url=settings.gateway_public_url,
        device_move_token_age=settings.gateway_device_move_token_age,
        idempotency_ttl=settings.idempotency_ttl_seconds,
    )
    providers, rules = sign_in_providers(settings.gateway_issuers), frontend_rules(settings)
    proxies = TrustedProxies(settings.gateway_trusted_proxies)
    checkin = settings.gateway_checkin_max_body_bytes
    return build_api(gateway, settings.gateway_max_body_bytes, providers, rules, proxies, checkin), bus


def served(api: FastAPI, settings: GatewaySettings) -> ASGIApp:
    """What uvicorn serves: the API, behind the sampling gate when tracing is on (the gateway samples for all)."""
    provider = tracing.configure("gateway", settings, decides=True)
    if provider is None or settings.trace_sample == 0:
        return api
    return SamplingGate(api, provider, settings.trace_sample)


async def run(settings: GatewaySettings | None = None) -> None:
    """Serve HTTP until SIGTERM or Ctrl-C."""
    settings = settings or GatewaySettings()
    use(settings.clock())  # tokens, the calendar and every message take their time from it
    api, bus = build(settings)
    gateway: Gateway = api.state.gateway
    await bus.broker.start()
    nc = await connect(settings.nats_servers, "gateway-read-model", settings)
    follower = asyncio.create_task(gateway.availability.follow(nc.jetstream())) if gateway.availability else None
    sharing = asyncio.create_task(gateway.shared_keys.run(nc.jetstream())) if gateway.shared_keys else None
    admitting = (
        asyncio.create_task(gateway.admission.run(nc, settings.stream_replicas))
        if gateway.admission is not None and gateway.admission.shared
        else None
    )
    bus.ready = True
    server = uvicorn.Server(
        uvicorn.Config(
            served(api, settings),
            host=settings.gateway_host,
            port=settings.gateway_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,  # the guard believes X-Forwarded-For from trusted proxies only
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]  # ours above
    log.info("gateway ready on http://%s:%d", settings.gateway_host, settings.gateway_port)
    try:
        await server.serve()
    finally:
        for task in (follower, sharing, admitting):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await nc.close()
        await bus.broker.stop()
        tracing.shutdown()
        log.info("gateway stopped")


def main() -> None:
    """Run on uvloop when it is installed (HTTP parsing uses httptools then too): about twice the requests/s."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())

"""The HTTP API for the mobile and web frontends: one router module per area."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from . import (
    routes_account,
    routes_audit,
    routes_booking_events,
    routes_bookings,
    routes_calendar,
    routes_checkins,
    routes_info,
    routes_offices,
    routes_operators,
    routes_ops,
    routes_payments,
    routes_tickets,
    routes_waitlist,
)
from .clients import TrustedProxies
from .deps import Gateway
from .docs import openapi_with_examples
from .door import Door
from .guard import Guard
from .problems import ProblemError, on_http_error, on_problem, on_unexpected, on_validation
from .routes_tickets import CHECKIN_PATH
from .routes_web import Provider, Rules, mount_web
from .settings import CHECKIN_MAX_BODY

ROUTERS = (
    routes_ops,
    routes_offices,
    routes_calendar,
    routes_bookings,
    routes_booking_events,
    routes_waitlist,
    routes_tickets,
    routes_account,
    routes_operators,
    routes_audit,
    routes_checkins,
    routes_info,
    routes_payments,
)


def build_api(
    gateway: Gateway,
    max_body: int = 16384,
    providers: list[Provider] | None = None,
    rules: Rules | None = None,
    proxies: TrustedProxies | None = None,
    checkin_max_body: int = CHECKIN_MAX_BODY,
) -> FastAPI:
    """The FastAPI application, wired to the services through `gateway`, serving the web frontends too."""
    api = FastAPI(title="Antrian Paspor", version="1.0.0", description="Passport appointment booking API.")
    api.state.gateway = gateway
    # Starlette types every handler as taking any Exception; each of these is only called with its own class.
    api.add_exception_handler(ProblemError, on_problem)  # type: ignore[arg-type]
    api.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    api.add_exception_handler(HTTPException, on_http_error)  # type: ignore[arg-type]
    api.add_exception_handler(Exception, on_unexpected)
    api.add_middleware(Door, gateway=gateway)  # inside the guard: sizes and addresses are limited first
    api.add_middleware(
        Guard,
        max_body=max_body,
        per_address=gateway.limits.address,
        metrics=gateway.metrics,
        proxies=proxies,
        larger={CHECKIN_PATH: checkin_max_body},  # a photo of a ticket: the one large body accepted
    )
    for module in ROUTERS:
        api.include_router(module.router)
    mount_web(api, gateway.dev_issuer is not None, providers or [], rules or Rules())
    api.openapi = lambda: openapi_with_examples(api)  # type: ignore[method-assign]
    return api

"""The HTTP API for the mobile and web frontends: one router module per area."""

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from . import routes_bookings, routes_offices, routes_ops, routes_tickets
from .deps import Gateway
from .problems import ProblemError, on_problem, on_validation

ROUTERS = (routes_ops, routes_offices, routes_bookings, routes_tickets)


def build_api(gateway: Gateway) -> FastAPI:
    """The FastAPI application, wired to the services through `gateway`."""
    api = FastAPI(title="Antrian Paspor", version="1.0.0", description="Passport appointment booking API.")
    api.state.gateway = gateway
    api.add_exception_handler(ProblemError, on_problem)
    api.add_exception_handler(RequestValidationError, on_validation)
    for module in ROUTERS:
        api.include_router(module.router)
    return api

"""The web frontends: the citizen app at `/`, staff pages at `/<area>/`, their files under `/static/`, `/v1/config`.

Plain HTML, CSS and ES modules from `services/gateway/web/` (no build step; ADR 0007). Every file is
sent with a strict Content-Security-Policy (scripts and styles from this origin only, no inline code)
and `Cache-Control: no-cache` (the browser revalidates with the ETag; the citizen app's service worker
keeps what it needs offline). A staff page is a folder with an `index.html` (e.g. `web/officer/`):
it is served at `/officer/` without any change here.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from shared.clock import now

from .settings import GatewaySettings, TrustedIssuer

WEB = Path(__file__).parent / "web"
CITIZEN = "citizen"
JAKARTA = ZoneInfo("Asia/Jakarta")
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(self), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
}


class Provider(BaseModel):
    """An OpenID provider the citizen app offers a sign-in button for (implicit flow, an ID token back)."""

    name: str = Field(description="Short name, e.g. google.", examples=["google"])
    label: str = Field(description="Shown on the button: 'Masuk dengan <label>'.", examples=["Google"])
    authorize_url: str = Field(description="The provider's authorization endpoint.")
    client_id: str = Field(description="This app's client id at the provider (the tokens' audience).")


class Rules(BaseModel):
    """The rulebook's numbers the app states before the citizen acts (the booking service's own settings)."""

    max_registrations: int = Field(default=5, description="Registrations per account, ever.")
    max_applicants: int = Field(default=5, description="Applicants on one booking (one family card).")
    spacing_days: int = Field(default=30, description="Days between two registrations.")
    cooldown_days: int = Field(default=30, description="Days without a new booking after a cancellation.")
    window_days: int = Field(default=60, description="Days ahead that are open for booking.")


class FrontendConfig(BaseModel):
    """What a frontend needs before its first call: how to sign in, today's date and the rules."""

    today: dt.date = Field(description="Today in Jakarta, from the system's clock (never the browser's).")
    now: dt.datetime = Field(description="The system's time, UTC.")
    dev_issuer: bool = Field(description="Whether the development sign-in (POST /v1/dev/token) is on.")
    providers: list[Provider] = Field(description="OpenID providers with a sign-in button.")
    rules: Rules = Field(description="The rulebook's numbers.")


def sign_in_providers(issuers: list[TrustedIssuer]) -> list[Provider]:
    """The trusted issuers a browser can sign in with (those given an authorization endpoint and client id)."""
    return [
        Provider(
            name=i.provider or i.issuer,
            label=i.label or (i.provider or i.issuer).capitalize(),
            authorize_url=i.authorize_url,
            client_id=i.audience,
        )
        for i in issuers
        if i.authorize_url
    ]


def frontend_rules(settings: GatewaySettings) -> Rules:
    """The numbers as the booking service reads them (the same PASPOR_BOOKING_* and PASPOR_QUOTA_* variables)."""
    booking = {
        name: getattr(settings, f"booking_{name}") for name in ("max_registrations", "spacing_days", "cooldown_days")
    }
    return Rules(**booking, window_days=settings.quota_window_days)


class WebFiles(StaticFiles):
    """Static files with the frontends' security and cache headers."""

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


def page(path: Path) -> Response:
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=HEADERS)


def staff_areas() -> list[str]:
    """Every folder of `web/` with its own page (besides the citizen app's)."""
    return sorted(d.name for d in WEB.iterdir() if d.name != CITIZEN and (d / "index.html").is_file())


def web_router(dev_issuer: bool, providers: list[Provider], rules: Rules) -> APIRouter:
    """The pages, the service worker and manifest, and `/v1/config`."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def citizen_app() -> Response:
        return page(WEB / CITIZEN / "index.html")

    @router.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:  # at the root, so that it may serve the whole app offline
        return FileResponse(WEB / CITIZEN / "sw.js", media_type="text/javascript; charset=utf-8", headers=HEADERS)

    @router.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> Response:
        path = WEB / CITIZEN / "manifest.webmanifest"
        return FileResponse(path, media_type="application/manifest+json", headers=HEADERS)

    for area in staff_areas():
        router.add_api_route(f"/{area}/", lambda at=WEB / area / "index.html": page(at), include_in_schema=False)

    @router.get("/v1/config", tags=["frontends"], summary="What a frontend needs first: sign-in, today, the rules")
    async def config() -> FrontendConfig:
        at = now()
        return FrontendConfig(
            today=at.astimezone(JAKARTA).date(), now=at, dev_issuer=dev_issuer, providers=providers, rules=rules
        )

    return router


def mount_web(api: FastAPI, dev_issuer: bool, providers: list[Provider], rules: Rules) -> None:
    """Serve the frontends from `api` (after the API's own routes: no API path is shadowed)."""
    api.include_router(web_router(dev_issuer, providers, rules))
    api.mount("/static", WebFiles(directory=WEB), name="static")

"""The gateway's settings (PASPOR_GATEWAY_*), with defaults that run the embedded mode."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.runtime.settings import CommonSettings

CHECKIN_MAX_BODY = 4_194_304  # a phone's photo of a QR code, base64 (4/3 larger) in JSON: up to about 3 MB


class TrustedIssuer(BaseModel):
    """An identity provider whose tokens the gateway accepts, and where its public keys are."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    issuer: str = Field(min_length=1, description="The tokens' `iss` claim, e.g. https://accounts.google.com.")
    jwks: str = Field(min_length=1, description="JWKS location: an https:// or http:// URL, or a file path.")
    provider: str = Field(default="", max_length=40, description="Short provider name (default: the issuer).")
    audience: str = Field(default="antrian-paspor", description="The `aud` the tokens must carry.")
    grants_roles: bool = Field(default=False, description="Trust its `role`/`office` claims (staff directories only).")
    authorize_url: str = Field(
        default="", description="Its authorization endpoint: the citizen app then offers 'Masuk dengan <label>'."
    )
    label: str = Field(default="", max_length=40, description="The name on the sign-in button (default: provider).")


class GatewaySettings(CommonSettings):
    """Gateway settings (PASPOR_GATEWAY_*)."""

    gateway_host: str = Field(default="127.0.0.1", description="Address to listen on.")
    gateway_port: int = Field(default=8080, ge=0, le=65535, description="HTTP port.")
    gateway_dev_issuer: bool = Field(default=False, description="DEVELOPMENT ONLY: local token issuer.")
    gateway_distributed: bool = Field(default=False, description="Set in the distributed deployment.")
    gateway_issuers: list[TrustedIssuer] = Field(
        default_factory=list, description="Trusted identity providers (JSON list)."
    )
    gateway_jwks_ttl: float = Field(default=3600, ge=10, description="Seconds a fetched JWKS stays fresh.")
    gateway_outcome_wait: float = Field(
        default=3.0, ge=0, le=30, description="Seconds to wait for the pipeline's outcome when the fast path had none."
    )
    gateway_request_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds to wait for a service's reply before answering 503."
    )
    gateway_read_model: bool = Field(
        default=True, description="Calendar and sold-out fast path from the availability bucket."
    )
    gateway_trusted_proxies: list[str] = Field(
        default=[],
        description='Proxies (addresses or networks, e.g. ["10.0.0.0/8"]) whose X-Forwarded-For names the client; '
        "from anyone else the header is ignored.",
    )
    gateway_max_body_bytes: int = Field(default=16384, ge=1024, description="Largest request body accepted.")
    gateway_checkin_max_body_bytes: int = Field(
        default=CHECKIN_MAX_BODY,
        ge=16384,
        le=CHECKIN_MAX_BODY,
        description="Largest check-in body (a photo of a ticket's QR code, base64 in JSON).",
    )
    gateway_rate_address: float = Field(default=200, gt=0, description="Requests per second per client address.")
    gateway_rate_account: float = Field(default=20, gt=0, description="Requests per second per account.")
    gateway_rate_device: float = Field(default=20, gt=0, description="Requests per second per device.")
    gateway_rate_burst: float = Field(default=2.0, ge=1, description="Burst, in seconds of the rate.")
    gateway_payment_secret: str | None = Field(
        default=None,
        description="The secret the payment provider signs its callbacks with (HMAC-SHA256); unset: one generated "
        "in the data folder (keys/payment-callback.key), which `paspor pay simulate` signs with. Set it (the same "
        "on every replica) in the distributed mode.",
    )
    gateway_payment_window_seconds: int = Field(
        default=300, ge=10, le=3600, description="How far a callback's timestamp may be from now; older is a replay."
    )
    gateway_admission_shared: bool = Field(
        default=True,
        description="Count the booking budgets for the whole fleet in the NATS KV bucket paspor_admission; "
        "false: each replica counts its own.",
    )
    gateway_admission_account: int = Field(
        default=30, ge=1, description="Booking attempts (POST /v1/bookings) per account per window, fleet-wide."
    )
    gateway_admission_address: int = Field(
        default=6000,
        ge=1,
        description="Booking attempts per client address per window, fleet-wide (many citizens share a carrier's address).",
    )
    gateway_admission_window: float = Field(
        default=60, ge=1, le=300, description="Seconds of a budget's window (the bucket keeps a counter 900 s)."
    )
    gateway_admission_lease: int = Field(
        default=20, ge=1, le=10_000, description="Most attempts a replica takes from a shared counter at once."
    )
    gateway_admission_timeout: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Seconds to wait for the bucket before counting on this replica's own budgets instead.",
    )
    gateway_device_proof: Literal["dpop", "header"] = Field(
        default="dpop",
        description="How a citizen's device is known: dpop (a signed proof of the device's key on each request, "
        "RFC 9449) or header (X-Device-Id as the client names it: API clients only, when the operator chooses it).",
    )
    gateway_dpop_window: float = Field(
        default=60, ge=5, le=600, description="Seconds a device proof's iat may be from the gateway's clock."
    )
    gateway_public_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#]+)?$",
        description="The origin citizens reach the gateway at behind a proxy (e.g. https://paspor.example.id): "
        "device proofs name it. Empty: the request's own scheme and Host.",
    )
    gateway_device_move_token_age: float = Field(
        default=600,
        ge=30,
        le=86400,
        description="Moving an account to a new device needs a token issued at most this many seconds ago.",
    )
    gateway_sse_seconds: float = Field(default=300, gt=0, description="Longest a booking's event stream stays open.")
    # The booking service's own variables (PASPOR_BOOKING_*): the citizen app states them before one acts.
    booking_max_registrations: int = Field(default=5, ge=1, le=100, description="Registrations per account, ever.")
    booking_spacing_days: int = Field(default=30, ge=0, le=365, description="Days between two registrations.")
    booking_cooldown_days: int = Field(default=30, ge=0, le=365, description="Days after a cancellation.")
    # The quota service's own variables (PASPOR_QUOTA_WINDOW_DAYS, _RELEASE_TIME): the calendar shows what quota decides.
    quota_window_days: int = Field(default=60, ge=1, le=366, description="Days open for booking ahead.")
    quota_release_time: dt.time = Field(
        default=dt.time(0, 0), description="Local time (office time zone) at which a new date opens, HH:MM."
    )
    quota_draw: bool = Field(default=True, description="Dates are released with a draw: the quota service's own.")
    quota_draw_before_minutes: float = Field(
        default=10,
        ge=0,
        le=1440,
        description="Minutes before a release that its draw's waiting room opens: quota's own.",
    )

    @field_validator("gateway_trusted_proxies")
    @classmethod
    def _valid_proxies(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)") from None
        return values

    @model_validator(mode="after")
    def _no_dev_issuer_when_distributed(self) -> GatewaySettings:
        if self.gateway_distributed and self.gateway_dev_issuer:
            raise ValueError("the development token issuer must not be enabled in the distributed mode")
        if self.gateway_dev_issuer and not is_loopback(self.gateway_host):
            raise ValueError(
                f"the development token issuer mints operator tokens for anyone who asks: it runs only on a "
                f"loopback address (127.0.0.1, ::1, localhost), not on {self.gateway_host!r}"
            )
        return self


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address (a name counts only if it is `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

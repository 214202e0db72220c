"""What every route needs: the gateway's wiring, the verified caller and their role, the device, and `ask`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from shared.events import IDEMPOTENCY_TTL_SECONDS

from .admission import Admission
from .auth import DevIssuer, Identity, TokenVerifier, Unauthenticated
from .availability import AvailabilityView
from .callbacks import CallbackCheck
from .dpop import ProofChecker, ProofRefused
from .expiring import Expiring, seconds
from .idempotency import SharedKeys
from .messaging import Changes, Outcomes, ServiceUnavailable
from .metrics import Metrics
from .problems import ProblemError
from .ratelimit import Limits

KEYS_KEPT = 100_000  # idempotency decisions this gateway keeps itself, at most (a flood's safety net)
LOCAL_KEYS_SECONDS = 600.0  # how long, when the shared mirror keeps them a day behind it (see `Gateway.remember`)


class Asker(Protocol):
    """The bus as routes see it (the real one talks NATS; tests may give a fake)."""

    outcomes: Outcomes
    changes: Changes
    ready: bool

    async def ask(self, subject: str, message: BaseModel) -> dict[str, Any]: ...


@dataclass
class Gateway:
    """The gateway's wiring, kept on `app.state.gateway`."""

    bus: Asker
    verifier: TokenVerifier
    dev_issuer: DevIssuer | None = None
    outcome_wait: float = 3.0
    availability: AvailabilityView | None = None  # None: no read model (calendar and refusals from the services)
    limits: Limits = field(default_factory=lambda: Limits.per_second(200, 20, 20))
    metrics: Metrics = field(default_factory=Metrics)
    partitions: int = 8
    sse_seconds: float = 300.0
    data_dir: Path | None = None  # where `paspor audit` saves its latest verdict (shown to operators)
    keys_seen: Expiring[tuple[str, str], str | None] = field(init=False)  # see remember
    shared_keys: SharedKeys | None = None  # the other replicas' decisions (None: this gateway alone)
    payments: CallbackCheck = field(default_factory=CallbackCheck)  # the payment provider's signed callbacks
    admission: Admission | None = None  # the booking path's budgets (None: none beyond the rate limits)
    proofs: ProofChecker | None = field(default_factory=ProofChecker)  # None: devices named by X-Device-Id
    public_url: str = ""  # the origin device proofs name (empty: each request's own)
    device_move_token_age: float = 600.0  # seconds: how fresh a token moving an account to a new device must be
    clock: Callable[[], float] = seconds  # when its own decisions were made (Unix seconds): how long they are kept
    idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS  # PASPOR_IDEMPOTENCY_TTL_SECONDS: a key's answer is the same

    def __post_init__(self) -> None:
        horizon = self.idempotency_ttl if self.shared_keys is None else min(LOCAL_KEYS_SECONDS, self.idempotency_ttl)
        self.keys_seen = Expiring(horizon, KEYS_KEPT, self.clock)

    async def ask(self, subject: str, message: BaseModel) -> dict[str, Any]:
        """A service's reply, or the service's refusal raised as a problem."""
        try:
            reply = await self.bus.ask(subject, message)
        except ServiceUnavailable:
            raise ProblemError(
                "service_unavailable", "The service is busy; try again.", "Layanan sibuk; coba lagi."
            ) from None
        if reply.get("problem"):
            raise ProblemError.from_reply(reply["problem"])
        return reply

    def remember(self, account: str, idempotency_key: str, refusal: str | None = None) -> None:
        """What this gateway did with a request: sent it on (None) or refused it at once (the reason).

        The same key always gets the same answer: a retry of a request sent on gets its booking, never a
        fast refusal; a retry of a request refused at once is refused again (as a rejected booking would be).
        For as long as the shared bucket keeps it (`PASPOR_IDEMPOTENCY_TTL_SECONDS`, a day): alone, this
        gateway keeps its decisions that long itself; with the shared keys, whose mirror keeps every decision
        (its own put there at once) as long, its own memory is only the fast path in front of it (no hash), for
        `LOCAL_KEYS_SECONDS`, where retries come.
        """
        self.keys_seen.put((account, idempotency_key), refusal)
        if self.shared_keys is not None:
            self.shared_keys.share(account, idempotency_key, refusal)

    def decided(self, account: str, idempotency_key: str) -> tuple[bool, str | None]:
        """Whether this gateway, or another replica, already decided this request, and how (None: sent on)."""
        known, refusal = self.keys_seen.lookup((account, idempotency_key))
        if known:
            return known, refusal
        if self.shared_keys is not None:
            return self.shared_keys.lookup(account, idempotency_key)
        return False, None

    @property
    def ready(self) -> bool:
        return self.bus.ready and (self.availability is None or self.availability.loaded.is_set())


async def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


async def identity(
    request: Request, authorization: Annotated[str | None, Header(description="Bearer <JWT>.")] = None
) -> Identity:
    gw: Gateway = request.app.state.gateway
    try:
        if gw.verifier.may_block:  # a provider's keys may have to be fetched: not on the event loop
            who = await run_in_threadpool(gw.verifier.verify, authorization)
        else:
            who = gw.verifier.verify(authorization)
    except Unauthenticated as error:
        raise ProblemError("unauthenticated", str(error), "Token tidak valid atau tidak ada.") from None
    gw.limits.account.check("account", who.account)
    return who


def _role(*allowed: str):
    async def check(who: Annotated[Identity, Depends(identity)]) -> Identity:
        if who.role not in allowed:
            raise ProblemError(
                "forbidden",
                f"This needs the role {' or '.join(allowed)}.",
                f"Ini memerlukan peran {' atau '.join(allowed)}.",
            )
        return who

    return check


PROVEN = "paspor.device"  # the scope key where the door leaves a device it already proved


async def device(
    request: Request,
    dpop: Annotated[
        str | None,
        Header(alias="DPoP", description="A proof signed by the device's key (RFC 9449); the device is the key."),
    ] = None,
    x_device_id: Annotated[
        str | None,
        Header(description="Only when the gateway runs with PASPOR_GATEWAY_DEVICE_PROOF=header: the device's id."),
    ] = None,
) -> str:
    """The caller's device: the key its proof proves (or, in header mode, the id it names)."""
    gw: Gateway = request.app.state.gateway
    if gw.proofs is None:
        if x_device_id is None or not 8 <= len(x_device_id) <= 128:
            raise ProblemError(
                "invalid_request",
                "The X-Device-Id header is required: the device's id, 8 to 128 characters.",
                "Header X-Device-Id wajib: id perangkat, 8 sampai 128 karakter.",
                status=422,
            )
        found = x_device_id
    else:
        found = request.scope.get(PROVEN) or proven_device(gw, dpop, request)
    gw.limits.device.check("device", found)
    return found


def proven_device(gw: Gateway, proof: str | None, request: Request) -> str:
    """The device a request's DPoP proof proves, or the refusal as a 401 problem."""
    assert gw.proofs is not None, "only in dpop mode"
    url = gw.public_url.rstrip("/") + request.url.path if gw.public_url else str(request.url)
    token = (request.headers.get("authorization") or "")[7:].strip()
    try:
        return gw.proofs.verify(proof, request.method, url, token)
    except ProofRefused as refused:
        raise ProblemError(
            "invalid_device_proof",
            f"Device proof refused: {refused}.",
            "Bukti perangkat (DPoP) ditolak; muat ulang aplikasi lalu coba lagi.",
            status=401,
        ) from None


GatewayDep = Annotated[Gateway, Depends(gateway)]
Who = Annotated[Identity, Depends(_role("citizen"))]  # a citizen: their own account and bookings only
AnyCaller = Annotated[Identity, Depends(identity)]
Officer = Annotated[Identity, Depends(_role("officer"))]  # bound to one office (Identity.office)
Operator = Annotated[Identity, Depends(_role("operator"))]
DeviceId = Annotated[str, Depends(device)]

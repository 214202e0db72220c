"""The door: a booking the read model refuses is answered before routing, at a fraction of the cost.

In an oversubscribed release almost every `POST /v1/bookings` is for a session already full. Routing
it through FastAPI's dependencies costs several times what the refusal itself does, so this pure
ASGI layer answers those at once, with the route's own rule (`refusals.at_once`) and answer. A request
it cannot answer alike (no valid token, device or key, an invalid body, a session with room, a
provider whose keys may need fetching) goes on to the router untouched, body included, and gets
every check and error from there.
"""

from __future__ import annotations

from types import SimpleNamespace

from pydantic import ValidationError
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.offices import UnknownOffice, office_by_code

from .admission import admitted
from .auth import Unauthenticated
from .deps import PROVEN, Gateway
from .dpop import ProofRefused
from .problems import ProblemError, problem_response
from .refusals import BookingBody, at_once, refusal

ROUTE = SimpleNamespace(path="/v1/bookings")  # what the metrics name the answered request by


class Door:
    """Answers refusals of `POST /v1/bookings` that the read model decides; lets everything else in."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app, self.gw = app, gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/bookings":
            return await self.app(scope, receive, send)
        try:
            body, gone = await _whole_body(receive)
        except HTTPException as error:  # the guard's size limit: the router answers it as it always does
            return await self.app(scope, _raising(error), send)
        answer = None if gone else await self._answer(scope, body)
        if answer is None:
            return await self.app(scope, _replayed(body, gone, receive), send)
        scope["route"] = ROUTE
        await problem_response(answer)(scope, receive, send)

    async def _answer(self, scope: Scope, body: bytes) -> ProblemError | None:
        """The refusal (or rate limit) to answer with, or None to let the router decide."""
        gw = self.gw
        if gw.availability is None or gw.verifier.may_block:
            return None
        headers = dict(scope["headers"])
        device = headers.get(b"x-device-id", b"").decode("latin-1")
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        if not ((gw.proofs is not None or 8 <= len(device) <= 128) and 8 <= len(key) <= 128):
            return None
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        try:
            who = gw.verifier.verify(authorization)
            wanted = BookingBody.model_validate_json(body)
            office = office_by_code(wanted.office)
        except (Unauthenticated, ValidationError, UnknownOffice, UnicodeDecodeError):
            return None
        if who.role != "citizen":
            return None
        limited = await admitted(gw.admission, scope, who.account)  # every attempt spends its budgets, once
        if limited is not None:
            return limited
        known, earlier = gw.decided(who.account, key)
        if known and earlier is None:
            return None  # sent on before (here or by another replica): the route gets its booking
        if not known and gw.availability.full_or_closed(office, wanted.date, wanted.session.value) is None:
            return None  # a session with room: the route sends it on (and remembers that)
        if gw.proofs is not None:  # the device is the key its proof proves: checked here as in the route
            device = self._proven(scope, headers, authorization)
            if device is None:
                return None  # the router refuses it, saying why
        try:
            gw.limits.account.check("account", who.account)
            gw.limits.device.check("device", device)
        except ProblemError as limited:
            return limited
        reason = at_once(gw, who.account, key, office, wanted.date, wanted.session.value)
        return refusal(gw, reason) if reason is not None else None

    def _proven(self, scope: Scope, headers: dict[bytes, bytes], authorization: str) -> str | None:
        """The device the request's proof proves (left in the scope: the route must not see it as a replay)."""
        assert self.gw.proofs is not None
        url = self.gw.public_url.rstrip("/") + scope["path"] if self.gw.public_url else str(URL(scope=scope))
        try:
            proof = headers.get(b"dpop", b"").decode("latin-1")
            device = self.gw.proofs.verify(proof, "POST", url, authorization[7:].strip())
        except ProofRefused:
            return None
        scope[PROVEN] = device
        return device


async def _whole_body(receive: Receive) -> tuple[bytes, bool]:
    """The request's body (the guard in front bounds its size), and whether the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _raising(error: HTTPException) -> Receive:
    async def receive() -> Message:
        raise error

    return receive


def _replayed(body: bytes, ended: bool, receive: Receive) -> Receive:
    """A receive that gives the router the body read already, then whatever comes next."""
    given = [False]

    async def replay() -> Message:
        if given[0] or ended:
            return await receive()
        given[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

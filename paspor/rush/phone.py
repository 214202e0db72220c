"""The mobile app, as the rush drives it: sign up, book (following a pending booking to its outcome), cancel.

Both systems under test speak the same public API (the conventional baseline copies the gateway's):
`POST /v1/dev/token`, `GET`/`POST /v1/me/terms`, `POST /v1/bookings` with a bearer token, a device
proof (DPoP, signed by the phone's key: its thumbprint is the device id, sent as X-Device-Id too) and an
idempotency key, `GET /v1/bookings/{id}` (and its `/events` stream), `POST .../cancel`. So
the same client code, at the same cost, measures both.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from shared import clock
from shared.device_keys import DeviceKey

from .http import Http, Reply, TransportError
from .identities import Identities
from .outcome import CONFIRMED, FAILED, REFUSED, Answer
from .scenario import Slot, User

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRYABLE_CODES = frozenset({"concurrent_request"})  # "another request of yours is being processed"
FOLLOW_MODES = ("auto", "events", "poll")
PENDING = "requested"
STREAM_SECONDS = 15.0  # a pending booking's event stream is read this long before the phone looks for itself


class SignUpFailed(RuntimeError):
    """A simulated citizen could not get a token or accept the terms (before the release)."""


class Phone:
    """Drives one system's public API as the mobile app would, for every account in one client process."""

    def __init__(
        self, name: str, url: str, run: int, follow: str = "auto", retries: int = 4, patience: float = 60.0
    ) -> None:
        if follow not in FOLLOW_MODES:
            raise ValueError(f"follow must be one of {', '.join(FOLLOW_MODES)}, not {follow!r}")
        self.name, self.url, self.run, self.follow = name, url.rstrip("/"), run, follow
        self.retries, self.patience = retries, patience
        self.identities = Identities(run)
        self.headers: dict[int, dict[str, str]] = {}
        self.keys: dict[str, DeviceKey] = {}  # each phone's key, by its device id (the key's thumbprint)
        self.skew: dt.timedelta | None = None  # the system's clock minus ours (its /v1/config), None: not asked
        self.terms_version: str | None = None

    def account(self, user: User) -> str:
        return f"rush-{self.run}-{user.serial}"

    async def sign_up(self, http: Http, user: User) -> None:
        """A token from the development issuer, then the terms accepted (before the release: not measured)."""
        if self.skew is None:
            self.skew = await self._skew(http)
        base = self._base_headers(user)
        token = await self._send(http, "POST", "/v1/dev/token", base, {"subject": self.account(user)})
        headers = base | {"Authorization": f"Bearer {token.body['access_token']}"}
        if self.terms_version is None:  # the same for everyone: asked once per client process
            self.terms_version = (await self._send(http, "GET", "/v1/me/terms", headers)).body["current_version"]
        await self._send(http, "POST", "/v1/me/terms", headers, {"version": self.terms_version})
        self.headers[user.serial] = headers

    def _base_headers(self, user: User) -> dict[str, str]:
        # Each simulated phone has its own address (the gateway limits requests per address).
        address = f"10.{user.serial >> 16 & 255}.{user.serial >> 8 & 255}.{user.serial & 255}"
        key = DeviceKey.named(f"rush-{self.run}-device-{user.serial:08d}")
        self.keys[key.thumbprint] = key
        return {"X-Device-Id": key.thumbprint, "X-Forwarded-For": address}

    def signed(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        """The headers with this very request's device proof (a fresh one for every call and retry)."""
        key = self.keys.get(headers.get("X-Device-Id", ""))
        if key is None or "Authorization" not in headers:
            return headers
        at = clock.now() + (self.skew or dt.timedelta(0))
        return headers | {"DPoP": key.proof(method, url, headers["Authorization"][7:], at)}

    async def _skew(self, http: Http) -> dt.timedelta:
        """How far the system's clock is from ours (proofs are dated by its clock); none if it does not say."""
        try:
            reply = await http.call("GET", f"{self.url}/v1/config")
        except TransportError:
            return dt.timedelta(0)
        if reply.status != 200 or not isinstance(reply.body, dict) or "now" not in reply.body:
            return dt.timedelta(0)
        return dt.datetime.fromisoformat(reply.body["now"].replace("Z", "+00:00")) - clock.now()

    async def book(self, http: Http, user: User, slot: Slot, key: str) -> Answer:
        """One booking attempt, from the request to its final outcome (retries and follow-ups counted)."""
        office, day, session = slot
        body = {
            "office": office,
            "date": day.isoformat(),
            "session": session,
            "kk_number": self.identities.kk(user.serial),
            "applicants": self.identities.applicants(user.nik_numbers()),
        }
        headers = self.headers[user.serial] | {"Idempotency-Key": key}
        calls = retries = 0
        retried_for: str | None = None
        while True:
            calls += 1
            try:
                url = f"{self.url}/v1/bookings"
                reply: Reply | None = await http.call("POST", url, json=body, headers=self.signed("POST", url, headers))
            except TransportError:
                reply = None
            if reply is not None and not _retryable(reply):
                break
            if retries >= self.retries:
                return Answer(FAILED, _failure(reply), calls=calls, retries=retries, retried_for=retried_for)
            retries += 1
            retried_for = retried_for or _failure(reply)
            await asyncio.sleep(_retry_after(reply, retries))
        if reply.status >= 400 or not isinstance(reply.body, dict):
            reason = reply.code or f"http_{reply.status}"
            return Answer(REFUSED, reason, calls=calls, retries=retries, retried_for=retried_for)
        if reply.body.get("status") != PENDING:
            return _answer(reply.body, calls, retries, retried_for)
        return await self._outcome(http, user, reply, calls, retries, retried_for)

    async def _outcome(
        self, http: Http, user: User, reply: Reply, calls: int, retries: int, retried_for: str | None
    ) -> Answer:
        """A pending booking followed to its outcome, for at most `patience` seconds: by its event stream when
        offered (looked at again every STREAM_SECONDS, in case a change was missed), else Retry-After polls."""
        booking, headers = reply.body, self.headers[user.serial]
        location = f"{self.url}/v1/bookings/{booking['booking_id']}"
        monitor = "rel=monitor" in (reply.header("Link") or "")
        stream = self.follow == "events" or (self.follow == "auto" and monitor)
        clock = asyncio.get_running_loop().time
        deadline = clock() + self.patience
        while booking.get("status") == PENDING and (left := deadline - clock()) > 0:
            began = clock()
            if stream:
                calls += 1
                events = f"{location}/events"
                settled = await http.follow(
                    events, self.signed("GET", events, headers), _decided, min(left, STREAM_SECONDS)
                )
                if settled is not None:
                    return _answer(settled, calls, retries, retried_for)
            if not stream or clock() - began < 1.0:  # polling, or a stream refused at once: wait as told
                await asyncio.sleep(min(_retry_after(reply, 0, otherwise=1.0), max(deadline - clock(), 0)))
            calls += 1  # the stream ended or missed the change (or there is none): look for itself
            try:
                polled = await http.call("GET", location, headers=self.signed("GET", location, headers))
            except TransportError:
                continue
            if polled.status == 200 and isinstance(polled.body, dict):
                reply, booking = polled, polled.body
        return _answer(booking, calls, retries, retried_for)

    async def cancel(self, http: Http, user: User, booking_id: str) -> bool:
        try:
            reply = await self._send(http, "POST", f"/v1/bookings/{booking_id}/cancel", self.headers[user.serial])
        except SignUpFailed:
            return False
        return reply.status == 200

    async def _send(
        self, http: Http, method: str, path: str, headers: dict[str, str], json: object = None, attempts: int = 6
    ) -> Reply:
        """A request retried on a dropped connection or a busy server; SignUpFailed on a final failure."""
        reply: Reply | None = None
        for attempt in range(1, attempts + 1):
            try:
                url = f"{self.url}{path}"
                reply = await http.call(method, url, json=json, headers=self.signed(method, url, headers))
            except TransportError as error:
                if attempt == attempts:
                    raise SignUpFailed(str(error)) from None
                reply = None
            if reply is not None and not _retryable(reply):
                break
            await asyncio.sleep(_retry_after(reply, attempt))
        if reply is None or reply.status >= 400:
            status = "no answer" if reply is None else f"{reply.status} {reply.code or ''}".strip()
            raise SignUpFailed(f"{method} {self.url}{path} answered {status}")
        return reply


def _decided(booking: dict) -> bool:
    return booking.get("status") != PENDING


def _retryable(reply: Reply) -> bool:
    return reply.status in RETRYABLE_STATUS or reply.code in RETRYABLE_CODES


def _answer(booking: dict, calls: int, retries: int, retried_for: str | None = None) -> Answer:
    status, booking_id = booking.get("status"), booking.get("booking_id")
    if status == CONFIRMED:
        return Answer(CONFIRMED, None, booking_id, booking.get("queue_number"), calls, retries, retried_for)
    if status == PENDING:
        return Answer(FAILED, "no_outcome", booking_id, None, calls, retries, retried_for)
    return Answer(REFUSED, booking.get("reason") or str(status), booking_id, None, calls, retries, retried_for)


def _failure(reply: Reply | None) -> str:
    if reply is None:
        return "transport_error"
    return reply.code or f"http_{reply.status}"


def _retry_after(reply: Reply | None, attempt: int, otherwise: float | None = None) -> float:
    """The server's Retry-After (seconds), else `otherwise`, else a backoff growing with the attempt."""
    header = reply.header("Retry-After") if reply is not None else None
    if header and header.isdigit():
        return float(header)
    return otherwise if otherwise is not None else min(0.2 * 2**attempt, 3.0)

"""New citizens booking at a steady rate: each gets a token, accepts the terms, and books once.

A call that meets a transport error, a 5xx, or a "try again" answer is asked again, with the same
Idempotency-Key for a booking, on the next gateway in turn (as a phone behind a load balancer does),
until it is answered or the load's patience runs out. The clients are the rush's (`paspor.rush.http`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from paspor.rush.http import Http, Reply, TransportError
from paspor.rush.identities import Identities
from paspor.rush.phone import _retry_after, _retryable
from shared import clock
from shared.device_keys import DeviceKey

from .records import Attempt

Slot = tuple[str, str, str]  # office, ISO date, session
TokenSource = Callable[[Http, str, str], Awaitable[str]]  # (http, gateway URL, subject) -> bearer token


async def dev_token(http: Http, gateway: str, subject: str) -> str:
    """A token of the embedded system's development issuer."""
    reply = await http.call("POST", f"{gateway}/v1/dev/token", json={"subject": subject})
    if reply.status != 200:
        raise TransportError(f"dev token: HTTP {reply.status}")
    return reply.body["access_token"]


@dataclass(frozen=True)
class LoadPlan:
    """Where and how fast: the gateways, the sessions booked in turn, bookings per second."""

    gateways: list[str]
    slots: list[Slot]
    rate: float
    run: int  # makes this run's identity numbers and subjects its own
    patience: float = 120.0  # seconds a citizen keeps asking before the booking counts as failed
    max_in_flight: int = 400
    cancel: bool = False  # each citizen cancels its booking once confirmed: slots, holds and tickets turn over


class Unanswered(Exception):
    """No answer within the patience, or a sign-up step refused."""


class SteadyLoad:
    """Start one citizen every 1/rate seconds; `drain()` hands out the finished attempts."""

    def __init__(self, plan: LoadPlan, tokens: TokenSource, keep_headers: bool = False) -> None:
        self.plan, self.tokens, self.keep_headers = plan, tokens, keep_headers
        self.identities = Identities(plan.run)
        self.began = time.monotonic()
        self.open: dict[int, Attempt] = {}
        self.finished: list[Attempt] = []
        self.headers: dict[int, dict[str, str]] = {}  # kept to follow acknowledged bookings afterwards
        self.keys: dict[str, DeviceKey] = {}  # each citizen's phone key, by its device id (the key's thumbprint)
        self.terms_version: str | None = None
        self.stopped = False
        self.started = 0  # citizens started so far

    def now(self) -> float:
        return time.monotonic() - self.began

    def drain(self) -> list[Attempt]:
        done, self.finished = self.finished, []
        return done

    async def run(self, http: Http, seconds: float) -> None:
        """Start citizens for `seconds` (or until `stop()`), then wait for the last to finish."""
        self.began, gate, tasks = (
            time.monotonic(),
            asyncio.Semaphore(self.plan.max_in_flight),
            set[asyncio.Task[None]](),
        )
        serial = 0
        while not self.stopped and (due := serial / self.plan.rate) < seconds:
            await asyncio.sleep(max(0.0, due - self.now()))
            await gate.acquire()
            attempt = Attempt(serial, self.plan.slots[serial % len(self.plan.slots)])
            self.open[serial] = attempt
            task = asyncio.create_task(self._citizen(http, attempt))
            tasks.add(task)
            task.add_done_callback(lambda t: tasks.discard(t))
            task.add_done_callback(functools.partial(self._finish, attempt, gate))
            serial += 1
            self.started = serial
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        self.stopped = True

    def _finish(self, attempt: Attempt, gate: asyncio.Semaphore, _: object = None) -> None:
        gate.release()
        self.open.pop(attempt.serial, None)
        self.finished.append(attempt)

    async def _citizen(self, http: Http, attempt: Attempt) -> None:
        subject = f"load-{self.plan.run}-{attempt.serial}"
        key = DeviceKey.named(f"load-{self.plan.run}-{attempt.serial:08d}")  # the phone proves it on every call
        self.keys[key.thumbprint] = key
        try:
            token = await self._token(http, attempt, subject)
            headers = {"Authorization": f"Bearer {token}", "X-Device-Id": key.thumbprint}
            if self.terms_version is None:
                terms = await self._ask(http, attempt, "GET", "/v1/me/terms", headers)
                if terms.status != 200 or not isinstance(terms.body, dict):
                    raise Unanswered(f"terms not shown: HTTP {terms.status} {terms.code}")
                self.terms_version = terms.body["current_version"]
            accepted = await self._ask(http, attempt, "POST", "/v1/me/terms", headers, {"version": self.terms_version})
            if accepted.status >= 400:
                raise Unanswered(f"terms refused: HTTP {accepted.status} {accepted.code}")
            await self._book(http, attempt, headers)
            if self.plan.cancel and attempt.acknowledged:
                await self._cancel(http, attempt, headers)
        except Unanswered as reason:
            attempt.failure = str(reason)
        finally:
            if not self.keep_headers:  # its bookings are not read back: the key (about 3 KB) is done with
                self.keys.pop(key.thumbprint, None)

    async def _token(self, http: Http, attempt: Attempt, subject: str) -> str:
        deadline = self.now() + self.plan.patience
        while True:
            gateway = self.plan.gateways[(attempt.serial + len(attempt.errors)) % len(self.plan.gateways)]
            try:
                return await self.tokens(http, gateway, subject)
            except TransportError as error:
                attempt.errors.append((self.now(), str(error)))
                if self.now() > deadline:
                    raise Unanswered(f"no token in {self.plan.patience:.0f}s") from None
                await asyncio.sleep(_retry_after(None, min(len(attempt.errors), 4)))

    async def _book(self, http: Http, attempt: Attempt, headers: dict[str, str]) -> None:
        office, day, session = attempt.slot
        body = {
            "office": office,
            "date": day,
            "session": session,
            "kk_number": self.identities.kk(attempt.serial),
            "applicants": self.identities.applicants([attempt.serial]),
        }
        attempt.sent = self.now()
        key = {"Idempotency-Key": f"load-{self.plan.run}-{attempt.serial}"}
        reply = await self._ask(http, attempt, "POST", "/v1/bookings", headers | key, body)
        attempt.answered, attempt.status, attempt.code = self.now(), reply.status, reply.code
        if reply.status in (201, 202) and isinstance(reply.body, dict):
            attempt.booking_id, attempt.answered_status = reply.body["booking_id"], reply.body["status"]
            attempt.queue_number = reply.body.get("queue_number")
            if self.keep_headers:
                self.headers[attempt.serial] = headers

    async def _cancel(self, http: Http, attempt: Attempt, headers: dict[str, str]) -> None:
        """Cancel the booking; one still being decided (409 `not_cancellable` while requested) is asked again."""
        deadline = self.now() + self.plan.patience
        while True:
            reply = await self._ask(http, attempt, "POST", f"/v1/bookings/{attempt.booking_id}/cancel", headers)
            if reply.status == 200:
                attempt.cancelled = True
                return
            if reply.status != 409 or self.now() > deadline:
                raise Unanswered(f"cancel refused: HTTP {reply.status} {reply.code or ''}".rstrip())
            await asyncio.sleep(0.5)

    def signed(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        """The headers with this very call's device proof (DPoP: a fresh one for every call and retry)."""
        key = self.keys.get(headers.get("X-Device-Id", ""))
        if key is None or "Authorization" not in headers:
            return headers
        return headers | {"DPoP": key.proof(method, url, headers["Authorization"][7:], clock.now())}

    async def _ask(
        self, http: Http, attempt: Attempt, method: str, path: str, headers: dict[str, str], json: object = None
    ) -> Reply:
        """The system's answer to one call, asked again (next gateway) after errors, within the patience."""
        deadline = self.now() + self.plan.patience
        while True:
            gateway = self.plan.gateways[(attempt.serial + len(attempt.errors)) % len(self.plan.gateways)]
            reply: Reply | None = None
            try:
                url = f"{gateway}{path}"
                reply = await http.call(method, url, json=json, headers=self.signed(method, url, headers))
                if not _retryable(reply):
                    return reply
                attempt.errors.append((self.now(), f"{method} {path}: HTTP {reply.status} {reply.code or ''}"))
            except TransportError as error:
                attempt.errors.append((self.now(), str(error)))
            if self.now() > deadline:
                raise Unanswered(f"{method} {path}: no answer in {self.plan.patience:.0f}s ({attempt.errors[-1][1]})")
            await asyncio.sleep(_retry_after(reply, min(len(attempt.errors), 4)))

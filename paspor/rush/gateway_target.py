"""The real system, through its gateway: sign in, book (waiting or polling for the outcome), cancel."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from .identities import Identities
from .outcome import CONFIRMED, FAILED, REFUSED, Answer
from .scenario import Slot, User

RETRYABLE = {429, 500, 502, 503, 504}
# A pending booking is looked at again when its Retry-After says (as the mobile app does), for at
# most OUTCOME_PATIENCE seconds; POLL_SECONDS only when a response gives no Retry-After.
POLL_SECONDS, OUTCOME_PATIENCE = 1.0, 60.0


class GatewayTarget:
    """Drives the gateway's public API as the mobile app would (development token issuer)."""

    name = "event-sourced (paspor)"

    def __init__(self, url: str, run: int, retries: int = 4) -> None:
        self.url, self.run, self.retries = url.rstrip("/"), run, retries
        self.identities = Identities(run)
        self.headers: dict[int, dict[str, str]] = {}

    async def prepare(self, client: httpx.AsyncClient, user: User) -> None:
        """Sign in and accept the terms (before the release: not measured)."""
        base = self._base_headers(user)
        token = await send(
            client, "POST", f"{self.url}/v1/dev/token", json={"subject": f"rush-{self.run}-{user.serial}"}, headers=base
        )
        headers = base | {"Authorization": f"Bearer {token.json()['access_token']}"}
        terms = await send(client, "GET", f"{self.url}/v1/me/terms", headers=headers)
        await send(
            client,
            "POST",
            f"{self.url}/v1/me/terms",
            json={"version": terms.json()["current_version"]},
            headers=headers,
        )
        self.headers[user.serial] = headers

    def _base_headers(self, user: User) -> dict[str, str]:
        # Each simulated phone has its own address (the gateway limits requests per address).
        address = f"10.{user.serial >> 16 & 255}.{user.serial >> 8 & 255}.{user.serial & 255}"
        return {"X-Device-Id": f"rush-{self.run}-device-{user.serial:08d}", "X-Forwarded-For": address}

    async def book(self, client: httpx.AsyncClient, user: User, slot: Slot, key: str) -> Answer:
        office, day, session = slot
        body = {
            "office": office,
            "date": day.isoformat(),
            "session": session,
            "kk_number": self.identities.kk(user.serial),
            "applicants": self.identities.applicants(user.serial, user.applicants),
        }
        headers = self.headers[user.serial] | {"Idempotency-Key": key}
        calls = retries = 0
        while True:
            calls += 1
            try:
                response = await client.post(f"{self.url}/v1/bookings", json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRYABLE:
                break
            if retries >= self.retries:
                return Answer(FAILED, _status(response), calls=calls, retries=retries)
            retries += 1
            await asyncio.sleep(_retry_after(response, retries))
        return await self._outcome(client, user, response, calls, retries)

    async def _outcome(
        self, client: httpx.AsyncClient, user: User, response: httpx.Response, calls: int, retries: int
    ) -> Answer:
        body = response.json()
        if response.status_code >= 400:
            return Answer(REFUSED, body.get("code", str(response.status_code)), calls=calls, retries=retries)
        deadline = asyncio.get_running_loop().time() + OUTCOME_PATIENCE
        while body["status"] == "requested" and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(_retry_after(response, 0, POLL_SECONDS))
            try:
                polled = await client.get(
                    f"{self.url}/v1/bookings/{body['booking_id']}", headers=self.headers[user.serial]
                )
            except httpx.TransportError:
                continue
            calls += 1
            if polled.status_code == 200:
                response, body = polled, polled.json()
        return _answer(body, calls, retries)

    async def cancel(self, client: httpx.AsyncClient, user: User, booking_id: str) -> bool:
        try:
            response = await send(
                client, "POST", f"{self.url}/v1/bookings/{booking_id}/cancel", headers=self.headers[user.serial]
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200


async def send(client: httpx.AsyncClient, method: str, url: str, attempts: int = 6, **kwargs) -> httpx.Response:
    """A request that is retried on a dropped connection or a busy server; raises on a final failure."""
    for attempt in range(1, attempts + 1):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == attempts:
                raise
            response = None
        if response is not None and response.status_code not in RETRYABLE:
            return response.raise_for_status()
        if response is not None and attempt == attempts:
            return response.raise_for_status()
        await asyncio.sleep(_retry_after(response, attempt))
    raise AssertionError("unreachable")


def _answer(body: dict, calls: int, retries: int) -> Answer:
    status = body["status"]
    if status == "confirmed":
        return Answer(CONFIRMED, None, body["booking_id"], body.get("queue_number"), calls, retries)
    if status == "requested":
        return Answer(FAILED, "no_outcome", body["booking_id"], calls=calls, retries=retries)
    return Answer(REFUSED, body.get("reason") or status, body["booking_id"], calls=calls, retries=retries)


def _status(response: httpx.Response | None) -> str:
    return "transport_error" if response is None else f"http_{response.status_code}"


def _retry_after(response: httpx.Response | None, attempt: int, otherwise: float | None = None) -> float:
    """The server's Retry-After (seconds), else `otherwise`, else a backoff growing with the attempt."""
    header = response.headers.get("Retry-After") if response is not None else None
    if header and header.isdigit():
        return float(header)
    return otherwise if otherwise is not None else min(0.2 * 2**attempt, 3.0)


def run_number() -> int:
    return uuid.uuid4().int % 10**9

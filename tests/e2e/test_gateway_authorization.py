"""The authorization matrix: every route of the API × every kind of caller, on the running system.

Callers: a citizen (on their own device), an officer (bound to GRESIK), an operator, nobody, an
expired token, a token from an issuer nobody trusts, a citizen on someone else's device (its key
stolen too), and a thief with the citizen's token and device id but not the device's key.
Every cell names the one status it must get: the route's own status for the callers its role
allows, 401 or 403 for the others (every citizen route checks the device), and 404 for another
account reading the citizen's booking (never 200: to them it does not exist).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support import bookable_day, booking_body, sign_in, signing

from services.gateway.auth import DevIssuer
from shared import clock

PUBLIC, CITIZEN, OFFICER, OPERATOR = "public", "citizen", "officer", "operator"
PROVIDER = "provider"  # the payment provider: no token opens it, only its signature (none of these callers has it)
CALLERS = ("officer", "operator", "nobody", "expired", "foreign", "wrong_device", "stolen_id", "citizen")  # citizen
# last: it cancels
DAY = bookable_day(25)
PROFILE_KK = "3174010101208888"
# "METHOD path" -> who may call it, the status those callers get, and the request (path filled in, JSON body)
ROUTES: dict[str, tuple[str, int, dict]] = {
    "GET /health": (PUBLIC, 200, {}),
    "GET /ready": (PUBLIC, 200, {}),
    "GET /metrics": (PUBLIC, 200, {}),
    "GET /asyncapi.json": (PUBLIC, 200, {}),
    "POST /v1/dev/token": (PUBLIC, 200, {"json": {"subject": "matrix@example.com"}}),
    "GET /v1/offices": (PUBLIC, 200, {}),
    "GET /v1/offices/{code}": (PUBLIC, 200, {}),
    "GET /v1/offices/{code}/calendar": (
        PUBLIC,
        200,
        {"params": {"start": DAY.isoformat(), "end": DAY.isoformat()}},
    ),
    "GET /v1/free-slots": (
        PUBLIC,
        200,
        {"params": {"lat": -7.1, "lon": 112.4, "start": DAY.isoformat(), "end": DAY.isoformat()}},
    ),
    "GET /v1/info": (PUBLIC, 200, {}),
    "GET /v1/config": (PUBLIC, 200, {}),
    "GET /v1/info/{name}": (PUBLIC, 200, {}),
    "PUT /v1/me": (
        CITIZEN,
        200,
        {
            "json": {
                "full_name": "Matrix Citizen",
                "nik": "3174015705900001",
                "kk_number": PROFILE_KK,
                "phone": "081234567890",
                "email": "matrix@example.com",
                "birth_date": "1990-05-17",
            }
        },
    ),
    "GET /v1/me": (CITIZEN, 200, {}),  # after PUT: the profile just filled in
    "GET /v1/me/terms": (CITIZEN, 200, {}),
    "POST /v1/me/terms": (CITIZEN, 200, {"json": {"version": "{terms}"}}),
    "GET /v1/me/registrations": (CITIZEN, 200, {}),
    "POST /v1/me/device": (CITIZEN, 200, {}),  # from the device it is bound to already: nothing moves
    "POST /v1/bookings": (  # let in, then refused by the rules: one upcoming booking per account (409)
        CITIZEN,
        409,
        {"json": booking_body("MADIUN", DAY, "siang", serial=9901) | {"kk_number": PROFILE_KK}},
    ),
    "POST /v1/waitlist": (  # let in, then refused by the rules like a booking: one upcoming booking per account
        CITIZEN,
        409,
        {"json": booking_body("MADIUN", DAY, "siang", serial=9902) | {"kk_number": PROFILE_KK}},
    ),
    "POST /v1/bookings/{booking_id}/accept": (CITIZEN, 409, {}),  # confirmed, not offered: nothing to accept
    "GET /v1/bookings": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}/events": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}/ticket": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}/ticket.png": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}/ticket.svg": (CITIZEN, 200, {}),
    "GET /v1/bookings/{booking_id}/ticket.ics": (CITIZEN, 200, {}),
    "POST /v1/checkin": (OFFICER, 422, {"json": {"payload": "not-a-ticket"}}),  # let in, then told it is no ticket
    "GET /v1/offices/{code}/checkins": (OFFICER, 200, {}),  # the officer's own office (GRESIK)
    "GET /v1/operator/audit": (OPERATOR, 200, {}),
    "PUT /v1/operator/offices/{code}/capacity": (OPERATOR, 200, {"json": {"date": DAY.isoformat(), "capacity": 90}}),
    "POST /v1/operator/offices/{code}/closures": (
        OPERATOR,
        200,
        {"json": {"date": (DAY + dt.timedelta(days=1)).isoformat(), "reason": "matrix closure test"}},
    ),
    "POST /v1/payments/callback": (
        PROVIDER,
        401,
        {
            "json": {
                "reference": "matrix-1",
                "billing_code": "820514372960110",
                "amount": 1,
                "paid_at": "2027-01-13T02:00:00Z",
            }
        },
    ),
    "POST /v1/bookings/{booking_id}/reschedule": (  # let in, then refused by the rules: the slot it holds already
        CITIZEN,
        409,
        {"json": {"office": "MADIUN", "date": DAY.isoformat(), "session": "pagi"}},
    ),
    "POST /v1/bookings/{booking_id}/cancel": (CITIZEN, 200, {}),  # last: the citizen cancels for real
}


def foreign_token() -> str:
    now = clock.now()
    claims = {
        "iss": "https://evil.example",
        "aud": "antrian-paspor",
        "sub": "x",
        "role": "operator",
        "exp": now + dt.timedelta(hours=1),
    }
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")


@pytest.fixture(scope="module")
def callers(system) -> dict[str, dict[str, str]]:
    dev = DevIssuer(Path(system.data_dir) / "keys")  # the running system's development issuer
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        citizen, neighbour = (
            sign_in(client, "matrix-citizen@example.com"),
            sign_in(client, "matrix-neighbour@example.com"),
        )
        roaming = sign_in(client, "matrix-roaming@example.com")  # its own account, so rate limits stay apart
    bearer = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    return {
        "citizen": citizen.headers(),
        "officer": bearer(dev.issue("matrix-officer@kanim", role="officer", office="GRESIK"))
        | {"X-Device-Id": "officer-desk-0001"},
        "operator": bearer(dev.issue("matrix-operator@kanim", role="operator")) | {"X-Device-Id": "operator-pc-00001"},
        "nobody": {"X-Device-Id": "nobody-device-001"},
        "expired": bearer(dev.issue("matrix-citizen@example.com", ttl=dt.timedelta(hours=-1)))
        | {"X-Device-Id": citizen.device},
        "foreign": bearer(foreign_token()) | {"X-Device-Id": citizen.device},
        "wrong_device": roaming.headers() | {"X-Device-Id": neighbour.device},  # bound to the neighbour's account
        "stolen_id": citizen.headers() | {"DPoP": "a proof the thief cannot make"},  # her id, not her key
    }


def expected(route: str, kind: str, status: int, caller: str, takes_device: bool) -> int:
    """The one status a caller must get from a route whose allowed callers get `status`."""
    if kind in (PUBLIC, PROVIDER):
        return status
    if caller in ("nobody", "expired", "foreign"):
        return 401
    if kind == CITIZEN:
        assert takes_device, f"{route}: which citizen's data does it show without proving the device?"
    if caller == "stolen_id":  # the citizen's token and device id, without the device's key
        return 401 if kind == CITIZEN else (403 if kind != PUBLIC else status)
    if caller == "wrong_device":  # another account, on a device bound to a third one
        reads_one = kind == CITIZEN and route.startswith("GET /v1/bookings/{booking_id}")
        return 404 if reads_one else 403  # the citizen's booking is not theirs: to them it does not exist
    return status if caller == kind else 403


def test_every_route_answers_every_caller_as_its_role_allows(system, callers):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        openapi = client.get("/openapi.json").json()
        routes = {f"{m.upper()} {p}": op for p, ops in openapi["paths"].items() for m, op in ops.items()}
        assert set(routes) == set(ROUTES), "the matrix must list every route of the API"
        booking_id, terms = prepare(client, callers["citizen"])
        wrong = []
        for route, (kind, allowed_status, request) in ROUTES.items():
            takes_device = any(p["name"].lower() == "dpop" for p in routes[route].get("parameters", []))
            for caller in CALLERS:
                status = call(client, route, request, callers[caller], booking_id, terms)
                wanted = expected(route, kind, allowed_status, caller, takes_device)
                if status != wanted:
                    wrong.append(f"{route} as {caller}: {status} (expected {wanted})")
    assert wrong == []


def prepare(client: httpx.Client, citizen: dict[str, str]) -> tuple[str, str]:
    """The citizen's booking, confirmed with its ticket issued, and the terms version in force."""
    body = booking_body("MADIUN", DAY, "pagi", serial=9900)
    booking = client.post("/v1/bookings", json=body, headers=citizen | {"Idempotency-Key": "matrix-booking-1"}).json()
    deadline = time.monotonic() + 20
    while client.get(f"/v1/bookings/{booking['booking_id']}/ticket", headers=citizen).status_code != 200:
        assert time.monotonic() < deadline, "the ticket was never issued"
        time.sleep(0.1)
    return booking["booking_id"], client.get("/v1/me/terms", headers=citizen).json()["current_version"]


def call(client: httpx.Client, route: str, request: dict, headers: dict, booking_id: str, terms: str) -> int:
    method, path = route.split(" ")
    path = path.format(code="GRESIK", name="fees", booking_id=booking_id)
    json_body = request.get("json")
    if json_body and json_body.get("version") == "{terms}":
        json_body = {"version": terms}
    headers = headers | {"Idempotency-Key": f"matrix-{hash(tuple(headers.items())) % 10**8:08d}"}
    if path.endswith("/events"):  # a stream: its first answer is enough
        with client.stream(method, path, headers=headers) as response:
            return response.status_code
    for _ in range(5):  # the session's shared system is busy: a rate-limited call waits and asks again
        response = client.request(method, path, json=json_body, params=request.get("params"), headers=headers)
        if response.status_code != 429 or response.json().get("code") != "rate_limited":
            break
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
    return response.status_code

"""The gateway's citizen routes need a proof of the device's key (DPoP): a device id alone opens nothing.

Siti books from her phone. A thief who learned her token and her device id (the key's thumbprint) but not
her phone's private key reads neither the booking, nor its ticket, nor its status stream. Every refusal is
a 401 or 403 problem that says why, never a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from gateway_fakes import FakeServices, bearer, client_for, gateway_app, next_office_day
from support import booking_body, device_key

from services.gateway.availability import AvailabilityView
from shared import clock
from shared.device_keys import DeviceKey
from shared.events import Commands, SessionRemaining, availability_key

READS = ("", "/ticket", "/ticket.svg", "/events")


async def siti_books(client: httpx.AsyncClient, dev) -> tuple[dict, str]:
    headers = bearer(dev, "siti@example.com", "siti's phone")
    body = booking_body("GRESIK", next_office_day(), "pagi", 1)
    answer = await client.post("/v1/bookings", json=body, headers=headers | {"Idempotency-Key": "siti-books-01"})
    assert answer.status_code == 201, answer.text
    return headers, answer.json()["booking_id"]


def proof_by(key: DeviceKey, verb: str, path: str, token_headers: dict, **changes) -> str:
    token = token_headers["Authorization"][7:]
    return key.proof(changes.get("method", verb), changes.get("url", f"http://gateway{path}"), token, clock.now())


async def test_a_stolen_device_id_without_the_key_reads_nothing(tmp_path):
    services = FakeServices()
    services.handlers[Commands.GET_TICKET] = lambda query: {"ticket": {"payload": "AP1.x"}, "svg": "<svg/>"}
    api, gw, dev = gateway_app(tmp_path, services)
    gw.sse_seconds = 0.2  # the stream of a confirmed booking stays open: not for long here
    async with client_for(api) as client:
        headers, booking = await siti_books(client, dev)
        thief = device_key("thief's laptop")
        for read in READS:
            path = f"/v1/bookings/{booking}{read}"
            own = await client.get(path, headers=headers)
            assert own.status_code == 200, f"{read}: {own.text}"
            no_proof = await client.get(path, headers=headers | {"DPoP": ""})  # her id in X-Device-Id, no proof
            signed_by_thief = await client.get(path, headers=headers | {"DPoP": proof_by(thief, "GET", path, headers)})
            assert no_proof.status_code == 401 and no_proof.json()["code"] == "invalid_device_proof", read
            assert "DPoP proof is required" in no_proof.json()["detail"]
            assert signed_by_thief.status_code == 403, f"{read}: the thief's own key is not her device"
            assert signed_by_thief.json()["code"] == "account_bound_to_other_device"


async def test_a_proof_under_her_public_key_but_signed_by_another_key_is_refused(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    async with client_for(api) as client:
        headers, booking = await siti_books(client, dev)
        path = f"/v1/bookings/{booking}/ticket"
        forged = proof_by(device_key("thief's laptop"), "GET", path, headers).split(".")
        her_key = json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": device_key("siti's phone").jwk})
        forged[0] = _b64(her_key.encode())
        answer = await client.get(path, headers=headers | {"DPoP": ".".join(forged)})
    assert answer.status_code == 401 and "signature does not verify" in answer.json()["detail"]


async def test_a_replayed_proof_is_refused(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    async with client_for(api) as client:
        headers, booking = await siti_books(client, dev)
        path = f"/v1/bookings/{booking}"
        proof = proof_by(device_key("siti's phone"), "GET", path, headers)
        first = await client.get(path, headers=headers | {"DPoP": proof})
        again = await client.get(path, headers=headers | {"DPoP": proof})
    assert first.status_code == 200
    assert again.status_code == 401 and "replayed" in again.json()["detail"]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"method": "DELETE"}, "another method"),
        ({"url": "http://gateway/v1/bookings"}, "another URL"),
        ({"url": "http://evil.example/v1/me/terms"}, "another URL"),
    ],
)
async def test_a_proof_for_another_method_or_url_is_refused(tmp_path, change, reason):
    api, _, dev = gateway_app(tmp_path)
    headers = bearer(dev, "siti@example.com", "siti's phone")
    async with client_for(api) as client:
        proof = proof_by(device_key("siti's phone"), "GET", "/v1/me/terms", headers, **change)
        answer = await client.get("/v1/me/terms", headers=headers | {"DPoP": proof})
    assert answer.status_code == 401 and reason in answer.json()["detail"]


async def test_a_proof_made_for_another_token_is_refused(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    headers = bearer(dev, "siti@example.com", "siti's phone")
    other_token = bearer(dev, "siti@example.com", None)
    async with client_for(api) as client:
        proof = proof_by(device_key("siti's phone"), "GET", "/v1/me/terms", other_token)
        answer = await client.get("/v1/me/terms", headers=headers | {"DPoP": proof})
    assert answer.status_code == 401 and "ath" in answer.json()["detail"]


async def test_an_unsigned_or_hs256_proof_is_refused(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    headers = bearer(dev, "siti@example.com", "siti's phone")
    valid = proof_by(device_key("siti's phone"), "GET", "/v1/me/terms", headers).split(".")
    async with client_for(api) as client:
        for alg in ("none", "HS256"):
            header = {"typ": "dpop+jwt", "alg": alg, "jwk": device_key("siti's phone").jwk}
            forged = f"{_b64(json.dumps(header).encode())}.{valid[1]}.{valid[2] if alg != 'none' else ''}"
            answer = await client.get("/v1/me/terms", headers=headers | {"DPoP": forged})
            assert answer.status_code == 401, answer.text
            assert answer.json()["code"] == "invalid_device_proof" and f"'{alg}' is not accepted" in answer.text


async def test_the_header_alone_names_a_device_only_in_header_mode(tmp_path):
    strict, _, dev = gateway_app(tmp_path)
    lenient, _, _ = gateway_app(tmp_path, device_proof="header")
    named = {"Authorization": bearer(dev)["Authorization"], "X-Device-Id": "api-client-device-01"}
    for api, status in ((strict, 401), (lenient, 200)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway") as client:
            assert (await client.get("/v1/me/terms", headers=named)).status_code == status
    async with httpx.AsyncClient(transport=httpx.ASGITransport(lenient), base_url="http://gateway") as client:
        missing = await client.get("/v1/me/terms", headers={"Authorization": named["Authorization"]})
    assert missing.status_code == 422 and "X-Device-Id" in missing.json()["detail"]


async def test_the_door_refuses_a_sold_out_session_at_once_only_with_a_valid_proof(tmp_path):
    view, services, day = AvailabilityView(), FakeServices(), next_office_day()
    entry = SessionRemaining(capacity=100, booked=100, remaining=0, closed=False)
    view.apply(availability_key("GRESIK", day, "pagi"), entry.model_dump_json().encode())
    api, gw, dev = gateway_app(tmp_path, services, availability=view)
    headers = bearer(dev, "siti@example.com", "siti's phone")
    body = booking_body("GRESIK", day, "pagi", 1)
    async with client_for(api) as client:
        unproven = await client.post(
            "/v1/bookings", json=body, headers=headers | {"Idempotency-Key": "door-01x", "DPoP": "x.y.z"}
        )
        refused = await client.post("/v1/bookings", json=body, headers=headers | {"Idempotency-Key": "door-02x"})
    assert unproven.status_code == 401 and unproven.json()["code"] == "invalid_device_proof"
    assert refused.status_code == 409 and refused.json()["code"] == "sold_out"
    assert services.asked == [] and len(gw.proofs.replays.seen) == 1


async def test_moving_to_a_new_phone_needs_a_fresh_sign_in_and_then_the_old_phone_reads_nothing(tmp_path):
    services = FakeServices()
    api, gw, dev = gateway_app(tmp_path, services)
    async with client_for(api) as client:
        old_phone, booking = await siti_books(client, dev)
        stale = bearer(dev, "siti@example.com", "siti's new phone")
        later = clock.now() + dt.timedelta(minutes=30)  # the process clock runs on from NOW: measure from it
        gw.verifier.clock = lambda: later  # the token was issued half an hour ago
        refused = await client.post("/v1/me/device", headers=stale)
        gw.verifier.clock = clock.now
        moved = await client.post("/v1/me/device", headers=bearer(dev, "siti@example.com", "siti's new phone"))
        new_phone = bearer(dev, "siti@example.com", "siti's new phone")
        from_new = await client.get(f"/v1/bookings/{booking}", headers=new_phone)
        from_old = await client.get(f"/v1/bookings/{booking}", headers=old_phone)
    assert refused.status_code == 401 and refused.json()["code"] == "fresh_sign_in_required"
    assert moved.status_code == 200 and moved.json()["device_id"] == device_key("siti's new phone").thumbprint
    assert from_new.status_code == 200 and from_old.status_code == 403
    assert Commands.MOVE_DEVICE in services.asked


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_gateway_proves_devices_by_default_and_says_so_when_the_operator_chooses_the_header(caplog, tmp_path):
    from services.gateway.main import device_proofs
    from services.gateway.settings import GatewaySettings

    assert device_proofs(GatewaySettings(data_dir=tmp_path)) is not None
    with caplog.at_level("WARNING", logger="services.gateway.main"):
        assert device_proofs(GatewaySettings(data_dir=tmp_path, gateway_device_proof="header")) is None
    assert "X-Device-Id" in caplog.text and "API clients only" in caplog.text
    with pytest.raises(ValueError, match="gateway_device_proof"):
        GatewaySettings(data_dir=tmp_path, gateway_device_proof="none")

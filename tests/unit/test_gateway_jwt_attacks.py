"""Forged tokens, the well-known ways: each one is refused with 401 and a problem, never a 5xx.

The gateway trusts an RSA identity provider (its JWKS in a file) and the development issuer; the
attacker knows everything public: the provider's public key, the issuer names, the audience.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from gateway_fakes import client_for, gateway_app
from support import device_key
from test_gateway_auth import GOOGLE, Provider

from services.gateway.app import build_api
from services.gateway.auth import TokenVerifier, dev_trust, jwks_trust
from services.gateway.jwks import JwksSource
from shared import clock

GOOGLE_KEYS = Provider()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, claims: dict, sign=lambda signing_input: b"") -> str:
    """A token put together by hand, as an attacker's tool would, whatever the library would refuse to make."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims(**changes: object) -> dict:
    now = int(clock.now().timestamp())
    return {"iss": GOOGLE, "aud": "antrian-paspor", "sub": "victim-123", "iat": now, "exp": now + 3600} | changes


def public_pem() -> bytes:
    return GOOGLE_KEYS.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def in_an_hour() -> int:
    return int((clock.now() + dt.timedelta(hours=1)).timestamp())


ATTACKS = {
    "alg none": lambda: forged({"alg": "none", "typ": "JWT"}, claims()),
    "alg None with a kid": lambda: forged({"alg": "None", "kid": "g1"}, claims()),
    "HS256 signed with the provider's public key": lambda: forged(
        {"alg": "HS256", "kid": "g1"}, claims(), lambda data: hmac.new(public_pem(), data, hashlib.sha256).digest()
    ),
    "kid injection (path)": lambda: forged({"alg": "RS256", "kid": "../../../../dev/null"}, claims()),
    "kid injection (SQL)": lambda: forged({"alg": "RS256", "kid": "' OR '1'='1"}, claims()),
    "a jwk embedded in the header": lambda: forged(
        {"alg": "RS256", "jwk": GOOGLE_KEYS.jwks()["keys"][0]}, claims(), lambda data: b"\x00" * 256
    ),
    "wrong audience": lambda: GOOGLE_KEYS.token(aud="another-app"),
    "wrong issuer": lambda: Provider(issuer="https://evil.example").token(),
    "an issuer we trust, signed by another key": lambda: Provider().token(),
    "expired": lambda: GOOGLE_KEYS.token(expires_in=-3600),
    "not yet valid": lambda: GOOGLE_KEYS.token(nbf=in_an_hour()),
    "issued in the future": lambda: GOOGLE_KEYS.token(iat=in_an_hour()),
    "100 KB token": lambda: GOOGLE_KEYS.token(padding="x" * 100_000),
    "not a token at all": lambda: "not.a.token",
}


@pytest.fixture
def gateway(tmp_path):
    _, gw, dev = gateway_app(tmp_path)
    keys = tmp_path / "google-jwks.json"
    keys.write_text(json.dumps(GOOGLE_KEYS.jwks()))
    gw.verifier = TokenVerifier([jwks_trust(GOOGLE, JwksSource(str(keys)), "google"), dev_trust(dev)])
    return build_api(gw)


async def answer(api, token: str) -> httpx.Response:
    victim = device_key("device-victim-01").thumbprint  # the victim's device, its proofs signed
    async with client_for(api) as client:
        return await client.get("/v1/me/terms", headers={"Authorization": f"Bearer {token}", "X-Device-Id": victim})


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_forged_token_is_refused_with_401(gateway, attack):
    response = await answer(gateway, ATTACKS[attack]())
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthenticated"


async def test_the_genuine_token_is_accepted_so_the_refusals_above_mean_something(gateway):
    assert (await answer(gateway, GOOGLE_KEYS.token())).status_code == 200


async def test_a_provider_not_trusted_for_roles_cannot_make_an_operator(gateway):
    token = GOOGLE_KEYS.token(role="operator")
    transport = httpx.ASGITransport(gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.put(
            "/v1/operator/offices/GRESIK/capacity",
            headers={"Authorization": f"Bearer {token}"},
            json={"date": "2030-01-07", "sessions": ["pagi"], "capacity": 1},
        )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"

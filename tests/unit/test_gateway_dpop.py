"""Device proofs (DPoP, RFC 9449): what the gateway's verifier accepts, and every way it refuses."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from support import NOW

from services.gateway.dpop import ProofChecker, ProofRefused, thumbprint, token_hash
from shared.clock import FixedClock
from shared.device_keys import DeviceKey

URL = "http://gateway/v1/bookings/5b0b5c2e-0d6c-4c47-9d0e-3a4d0b6a7e11"
NAN_IAT = b'{"iat": NaN}'  # Python's json reads NaN; a proof may not carry it (it passes every comparison)
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJzaXRpIn0.c2lnbmF0dXJl"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(value: dict) -> str:
    return b64(json.dumps(value).encode())


def claims(**changes) -> dict:
    return {
        "htm": "GET",
        "htu": URL,
        "iat": int(NOW.timestamp()),
        "jti": uuid.uuid4().hex,
        "ath": token_hash(TOKEN),
    } | (changes)


def ed25519_proof(key: Ed25519PrivateKey, body: dict, **header) -> str:
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    head = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(x)}} | header
    signed = f"{part(head)}.{part(body)}"
    return f"{signed}.{b64(key.sign(signed.encode()))}"


def checker(**options) -> ProofChecker:
    return ProofChecker(FixedClock(NOW), **options)


def test_a_proof_signed_by_the_device_key_proves_the_keys_thumbprint():
    phone = DeviceKey.named("siti's phone")
    device = checker().verify(phone.proof("GET", URL + "?wait=25", TOKEN, NOW), "GET", URL, TOKEN)
    assert device == phone.thumbprint == thumbprint(phone.jwk) and len(device) == 43
    assert DeviceKey.named("siti's phone").thumbprint == device, "a named key is the same key every time"


def test_an_ed25519_proof_is_accepted_too():
    key = Ed25519PrivateKey.generate()
    assert len(checker().verify(ed25519_proof(key, claims()), "GET", URL, TOKEN)) == 43


def test_a_replayed_proof_is_refused_while_a_fresh_one_from_the_same_device_passes():
    phone, verifier = DeviceKey.named("phone-a"), checker()
    proof = phone.proof("GET", URL, TOKEN, NOW)
    verifier.verify(proof, "GET", URL, TOKEN)
    with pytest.raises(ProofRefused, match="replayed"):
        verifier.verify(proof, "GET", URL, TOKEN)
    verifier.verify(phone.proof("GET", URL, TOKEN, NOW), "GET", URL, TOKEN)


def test_a_proof_for_another_method_or_url_is_refused():
    phone, verifier = DeviceKey.named("phone-b"), checker()
    with pytest.raises(ProofRefused, match="another method"):
        verifier.verify(phone.proof("GET", URL, TOKEN, NOW), "POST", URL, TOKEN)
    with pytest.raises(ProofRefused, match="another URL"):
        verifier.verify(phone.proof("GET", URL, TOKEN, NOW), "GET", URL + "/ticket", TOKEN)
    with pytest.raises(ProofRefused, match="another URL"):
        verifier.verify(phone.proof("GET", URL, TOKEN, NOW), "GET", URL.replace("gateway", "evil"), TOKEN)


def test_a_proof_made_for_another_access_token_is_refused():
    phone = DeviceKey.named("phone-c")
    with pytest.raises(ProofRefused, match="ath"):
        checker().verify(phone.proof("GET", URL, "another.token.here", NOW), "GET", URL, TOKEN)
    with pytest.raises(ProofRefused, match="ath"):
        checker().verify(phone.proof("GET", URL, None, NOW), "GET", URL, TOKEN)


@pytest.mark.parametrize("offset", [-61, 61, -3600])
def test_a_proof_made_outside_the_window_of_the_servers_clock_is_refused(offset):
    proof = DeviceKey.named("phone-d").proof("GET", URL, TOKEN, NOW + dt.timedelta(seconds=offset))
    with pytest.raises(ProofRefused, match="iat"):
        checker().verify(proof, "GET", URL, TOKEN)


def test_alg_none_and_hs256_signed_with_the_public_key_are_refused():
    phone = DeviceKey.named("phone-e")
    head = {"typ": "dpop+jwt", "jwk": phone.jwk}
    unsigned = f"{part(head | {'alg': 'none'})}.{part(claims())}."
    with pytest.raises(ProofRefused, match="'none' is not accepted"):
        checker().verify(unsigned, "GET", URL, TOKEN)
    signed = f"{part(head | {'alg': 'HS256'})}.{part(claims())}"
    mac = hmac.new(json.dumps(phone.jwk).encode(), signed.encode(), hashlib.sha256).digest()
    with pytest.raises(ProofRefused, match="'HS256' is not accepted"):
        checker().verify(f"{signed}.{b64(mac)}", "GET", URL, TOKEN)


def test_a_proof_carrying_a_private_key_is_refused():
    phone = DeviceKey.named("phone-f")
    proof = phone.proof("GET", URL, TOKEN, NOW)
    head, rest = proof.split(".", 1)
    leaked = part({"typ": "dpop+jwt", "alg": "ES256", "jwk": phone.private_jwk})
    with pytest.raises(ProofRefused, match="private key"):
        checker().verify(f"{leaked}.{rest}", "GET", URL, TOKEN)


def test_a_stolen_device_key_id_without_the_private_key_proves_nothing():
    victim, thief = DeviceKey.named("victim's phone"), DeviceKey.named("thief's laptop")
    forged = thief.proof("GET", URL, TOKEN, NOW).split(".", 1)[1]  # the thief's signature...
    header = part({"typ": "dpop+jwt", "alg": "ES256", "jwk": victim.jwk})  # ...under the victim's key
    with pytest.raises(ProofRefused, match="signature does not verify"):
        checker().verify(f"{header}.{forged}", "GET", URL, TOKEN)


@pytest.mark.parametrize(
    "proof, reason",
    [
        (None, "required"),
        ("", "required"),
        ("a.b", "not a JWT"),
        ("x" * 3000, "too large"),
        ("!!!.e30.e30", "base64url"),
        (f"{b64(b'[1]')}.e30.e30", "JSON objects"),
        (f"{b64(b'[' * 1500)}.e30.e30", "not JSON"),
        (f"e30.{b64(NAN_IAT)}.e30", "not JSON"),
        (f"{part({'typ': 'JWT', 'alg': 'ES256'})}.e30.e30", "typ"),
        (f"{part({'typ': 'dpop+jwt', 'alg': 'ES256'})}.e30.e30", "no jwk"),
        (
            f"{part({'typ': 'dpop+jwt', 'alg': 'ES256', 'jwk': {'kty': 'OKP', 'crv': 'Ed25519', 'x': 'AA'}})}.e30.e30",
            "not a key",
        ),
        (
            f"{part({'typ': 'dpop+jwt', 'alg': 'ES256', 'jwk': {'kty': 'EC', 'crv': 'P-256', 'x': b64(bytes(32)), 'y': b64(bytes(32))}})}.e30.e30",
            "valid public key",
        ),
    ],
)
def test_malformed_proofs_are_refused_with_the_reason(proof, reason):
    with pytest.raises(ProofRefused, match=reason):
        checker().verify(proof, "GET", URL, TOKEN)


def test_the_replay_memory_is_bounded_and_forgets_expired_proofs():
    clock, phone = FixedClock(NOW), DeviceKey.named("phone-g")
    verifier = ProofChecker(clock, window=60, remember=3)
    for _ in range(5):
        verifier.verify(phone.proof("GET", URL, TOKEN, clock()), "GET", URL, TOKEN)
    assert len(verifier.replays.seen) == 3 and verifier.replays.forgotten == 2
    clock.advance(dt.timedelta(seconds=121))
    verifier.verify(phone.proof("GET", URL, TOKEN, clock()), "GET", URL, TOKEN)
    assert len(verifier.replays.seen) == 1, "proofs past their window are forgotten"


def test_a_proof_dated_a_window_ahead_is_refused_as_a_replay_up_to_the_last_instant_it_could_pass():
    clock, phone = FixedClock(NOW), DeviceKey.named("phone-h")
    verifier = ProofChecker(clock, window=60)
    proof = phone.proof("GET", URL, TOKEN, NOW + dt.timedelta(seconds=60))  # a phone's clock a minute fast
    verifier.verify(proof, "GET", URL, TOKEN)
    clock.advance(dt.timedelta(seconds=120))  # its iat is now a window behind: the last instant it passes
    with pytest.raises(ProofRefused, match="replayed"):
        verifier.verify(proof, "GET", URL, TOKEN)
    clock.advance(dt.timedelta(seconds=1))
    with pytest.raises(ProofRefused, match="iat"):
        verifier.verify(proof, "GET", URL, TOKEN)
    assert len(verifier.replays.seen) == 0, "forgotten once no clock could accept it again"


def test_a_devices_parsed_key_is_kept_while_it_is_used_and_forgotten_ten_minutes_after_its_last_proof():
    clock, busy, idle = FixedClock(NOW), DeviceKey.named("siti's phone"), DeviceKey.named("budi's phone")
    verifier = ProofChecker(clock)
    for phone in (busy, idle):
        verifier.verify(phone.proof("GET", URL, TOKEN, clock()), "GET", URL, TOKEN)
    for _ in range(4):  # siti checks her booking every five minutes; budi put his phone away
        clock.advance(dt.timedelta(minutes=5))
        verifier.verify(busy.proof("GET", URL, TOKEN, clock()), "GET", URL, TOKEN)
    assert busy.thumbprint in verifier.keys and idle.thumbprint not in verifier.keys and len(verifier.keys) == 1
    device = verifier.verify(idle.proof("GET", URL, TOKEN, clock()), "GET", URL, TOKEN)
    assert device == idle.thumbprint and len(verifier.keys) == 2, "back: its key is parsed again"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
MEMBERS = st.sampled_from(["typ", "alg", "jwk", "kty", "crv", "x", "y", "d", "htm", "htu", "iat", "jti", "ath"])


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(MEMBERS, JSON | st.just("dpop+jwt") | st.just("ES256"), max_size=5),
    body=st.dictionaries(MEMBERS, JSON, max_size=6),
    signature=st.binary(max_size=80),
)
def test_whatever_a_proof_holds_it_is_refused_with_a_reason_never_an_error(header, body, signature):
    with pytest.raises(ProofRefused):
        checker().verify(f"{part(header)}.{part(body)}.{b64(signature)}", "GET", URL, TOKEN)

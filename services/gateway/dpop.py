"""Device proofs in the spirit of DPoP (RFC 9449): a device is the key it proves, not a header it names.

Each citizen request carries a `DPoP` header: a JWT (typ `dpop+jwt`, ES256 or EdDSA) with the device's
public key in its header, signed by the device's private key, naming the request (`htm`, `htu`), the
moment (`iat`), a unique id (`jti`) and the access token it goes with (`ath`). The device id is the
key's RFC 7638 thumbprint: whoever learns it still cannot make a proof for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from shared.clock import Clock, now

from .expiring import Expiring

MAX_PROOF_CHARS = 2048  # a proof with a P-256 key is about 600 characters
MAX_JTI_CHARS = 128
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
KEY_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}  # RFC 7638: required, sorted
ALGORITHM_KEYS = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
PublicKey = ec.EllipticCurvePublicKey | Ed25519PublicKey
KEY_IDLE_SECONDS = 600.0  # a device's parsed key is kept while it is in use: forgotten 10 minutes after its last proof


class ProofRefused(Exception):
    """The request's device proof is missing or does not prove what it must (the reason says which)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ProofRefused("the proof is not base64url") from None


def token_hash(access_token: str) -> str:
    """The `ath` claim: base64url SHA-256 of the access token."""
    return b64url(hashlib.sha256(access_token.encode()).digest())


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The key's RFC 7638 thumbprint (SHA-256, base64url): the device's id."""
    members = KEY_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise ProofRefused("the proof's jwk is not an EC P-256 or Ed25519 public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def same_url(htu: str, url: str) -> bool:
    """RFC 9449: the request's URI, ignoring query and fragment (scheme and host compared without case)."""
    try:
        mine, theirs = urlsplit(url), urlsplit(htu)
        ports = (mine.port or _default_port(mine.scheme), theirs.port or _default_port(theirs.scheme))
    except ValueError:
        return False
    return (
        mine.scheme.lower() == theirs.scheme.lower()
        and (mine.hostname or "").lower() == (theirs.hostname or "").lower()
        and ports[0] == ports[1]
        and (mine.path or "/") == (theirs.path or "/")
    )


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme.lower())


class Replays:
    """The proofs seen while they could still be accepted (bounded: the oldest are forgotten first)."""

    def __init__(self, keep: int, horizon: float, clock: Callable[[], float]) -> None:
        self.seen: Expiring[bytes, None] = Expiring(horizon, keep, clock)
        self.lock = threading.Lock()  # proofs are checked on the event loop and in worker threads

    @property
    def forgotten(self) -> int:
        """Proofs forgotten before they expired (the memory was full): a replay of one would pass."""
        return self.seen.crowded_out

    def first_time(self, thumb: str, jti: str) -> bool:
        """Record (device, jti); False if it was seen already and has not expired."""
        key = hashlib.blake2b(f"{thumb} {jti}".encode(), digest_size=16).digest()
        with self.lock:
            if key in self.seen:
                return False
            self.seen.put(key, None)
            return True


class ProofChecker:
    """Verifies device proofs; parsed public keys are kept by thumbprint, proofs seen by (device, jti).

    A proof can be accepted while its `iat` is within `window` of the clock: first seen with an `iat` a
    window ahead, it is acceptable for two windows, so it is remembered that long (and a second). A
    device's parsed key is kept while the device is in use: forgotten after `KEY_IDLE_SECONDS` unused.
    """

    def __init__(self, clock: Clock = now, window: float = 60.0, remember: int = 200_000, keys: int = 100_000):
        self.clock, self.window = clock, window
        self.replays = Replays(remember, 2 * window + 1, self._seconds)
        self.keys: Expiring[str, PublicKey] = Expiring(KEY_IDLE_SECONDS, keys, self._seconds, refresh=True)
        self.lock = threading.Lock()  # the keys, as the replays: checked on the event loop and in worker threads

    def _seconds(self) -> float:
        return self.clock().timestamp()

    def verify(self, proof: str | None, method: str, url: str, access_token: str) -> str:
        """The device id (the key's thumbprint) the proof proves for this request, or ProofRefused."""
        if not proof:
            raise ProofRefused("a DPoP proof is required: sign each request with the device's key")
        if len(proof) > MAX_PROOF_CHARS:
            raise ProofRefused(f"the proof is too large ({len(proof)} characters, at most {MAX_PROOF_CHARS})")
        parts = proof.split(".")
        if len(parts) != 3:
            raise ProofRefused("the proof is not a JWT (header.claims.signature)")
        header, claims = _json(parts[0]), _json(parts[1])
        thumb, key = self._key(header)
        at = self.clock().timestamp()
        jti = self._check_claims(claims, method, url, access_token, at)
        self._check_signature(header["alg"], key, f"{parts[0]}.{parts[1]}".encode(), unb64url(parts[2]))
        if not self.replays.first_time(thumb, jti):
            raise ProofRefused("this proof was used before (replayed jti): sign each request anew")
        return thumb

    def _key(self, header: dict[str, Any]) -> tuple[str, PublicKey]:
        if header.get("typ") != "dpop+jwt":
            raise ProofRefused("the proof's typ must be dpop+jwt")
        alg, jwk = header.get("alg"), header.get("jwk")
        if not isinstance(alg, str) or alg not in ALGORITHM_KEYS:
            raise ProofRefused(f"the proof's alg {str(alg)[:20]!r} is not accepted (ES256 or EdDSA only)")
        if not isinstance(jwk, dict):
            raise ProofRefused("the proof's header has no jwk (the device's public key)")
        if PRIVATE_MEMBERS & jwk.keys():
            raise ProofRefused("the proof's jwk holds a private key: send the public key only")
        if (jwk.get("kty"), jwk.get("crv")) != ALGORITHM_KEYS[alg]:
            raise ProofRefused(f"the proof's jwk is not a key for {alg}")
        thumb = thumbprint(jwk)
        with self.lock:
            key = self.keys.get(thumb)
        if key is None:
            key = _public_key(jwk)  # parsed outside the lock: a few microseconds of work
            with self.lock:
                self.keys.put(thumb, key)
        return thumb, key

    def _check_claims(self, claims: dict[str, Any], method: str, url: str, token: str, at: float) -> str:
        if claims.get("htm") != method:
            raise ProofRefused(f"the proof is for another method ({str(claims.get('htm'))[:10]!r}, not {method})")
        htu = claims.get("htu")
        if not isinstance(htu, str) or not same_url(htu, url):
            raise ProofRefused(f"the proof is for another URL than {url.split('?')[0]}")
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or isinstance(iat, bool) or not at - self.window <= iat <= at + self.window:
            raise ProofRefused(f"the proof's iat is not within {self.window:g} s of the server's clock")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_CHARS:
            raise ProofRefused(f"the proof needs a jti of 1 to {MAX_JTI_CHARS} characters")
        if claims.get("ath") != token_hash(token):
            raise ProofRefused("the proof's ath does not match the access token")
        return jti

    @staticmethod
    def _check_signature(alg: str, key: PublicKey, signed: bytes, signature: bytes) -> None:
        try:
            if isinstance(key, Ed25519PublicKey):
                key.verify(signature, signed)
            elif len(signature) != 64:
                raise InvalidSignature
            else:
                r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ProofRefused(f"the proof's {alg} signature does not verify with its jwk") from None


def _json(part: str) -> dict[str, Any]:
    try:
        value = json.loads(unb64url(part), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; nesting past the stack, too deep
        raise ProofRefused("the proof's header or claims are not JSON") from None
    if not isinstance(value, dict):
        raise ProofRefused("the proof's header and claims must be JSON objects")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")  # Python's json takes NaN and Infinity; a proof may not


def _public_key(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key a jwk names (checked: a point on P-256, or 32 bytes of Ed25519)."""
    try:
        if jwk["kty"] == "OKP":
            return Ed25519PublicKey.from_public_bytes(_coordinate(jwk["x"]))
        point = b"\x04" + _coordinate(jwk["x"]) + _coordinate(jwk["y"])
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ProofRefused("the proof's jwk is not a valid public key") from None


def _coordinate(text: str) -> bytes:
    value = unb64url(text)
    if len(value) != 32:
        raise ProofRefused("the proof's jwk coordinates must be 32 bytes")
    return value

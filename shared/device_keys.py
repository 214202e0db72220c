"""A device's key pair as a client holds it: signs DPoP proofs (RFC 9449) for the gateway's citizen routes.

Phones and browsers make a random key once and keep it; tests, load generators and rehearsals derive one
from a name (`DeviceKey.named`), so that a device is the same device however often it is made.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


class DeviceKey:
    """An ECDSA P-256 key pair (ES256) that proves one device."""

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        self.private = private
        numbers = private.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
        canonical = json.dumps({k: self.jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        self.thumbprint = _b64(hashlib.sha256(canonical.encode()).digest())  # RFC 7638: the device id
        self._header = _json_b64({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk})

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def named(cls, name: str) -> DeviceKey:
        """The same key for the same name, every time (tests and rehearsals only: the name is the secret)."""
        scalar = int.from_bytes(hashlib.sha256(f"paspor device {name}".encode()).digest(), "big")
        return cls(ec.derive_private_key(scalar % (P256_ORDER - 1) + 1, ec.SECP256R1()))

    @property
    def private_jwk(self) -> dict[str, str]:
        """The whole key as a JWK (for a test to give a browser the very key its API calls used)."""
        d = self.private.private_numbers().private_value.to_bytes(32, "big")
        return self.jwk | {"d": _b64(d)}

    def proof(self, method: str, url: str, access_token: str | None, at: dt.datetime) -> str:
        """The `DPoP` header for one request (`url` without its query; `at` from the caller's clock)."""
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": url.split("?", 1)[0].split("#", 1)[0],
            "iat": int(at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if access_token:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode()).digest())
        signed = f"{self._header}.{_json_b64(claims)}"
        r, s = decode_dss_signature(self.private.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signed}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

"""Who is calling: bearer tokens (JWT) verified on every call, and the development issuer."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key

DEV_ISSUER = "paspor-dev"
AUDIENCE = "antrian-paspor"


class Unauthenticated(Exception):
    """No valid token: missing, expired, malformed, or from an issuer we do not trust."""


@dataclass(frozen=True)
class Identity:
    """A verified caller."""

    provider: str
    subject: str
    name: str = ""
    role: str = "citizen"  # citizen, officer or operator
    office: str | None = None  # an officer's office

    @property
    def account(self) -> str:
        return f"{self.provider}:{self.subject}"


class DevIssuer:
    """DEVELOPMENT ONLY: signs tokens locally so the embedded mode can be tried with curl."""

    def __init__(self, keys_dir: Path) -> None:
        self.key = _load_or_create(keys_dir / "dev-issuer.pem")
        self.public_key = self.key.public_key()

    def issue(self, subject: str, name: str = "", role: str = "citizen", office: str | None = None,
              ttl: dt.timedelta = dt.timedelta(hours=12)) -> str:
        now = dt.datetime.now(dt.timezone.utc)
        claims = {
            "iss": DEV_ISSUER, "aud": AUDIENCE, "sub": subject, "name": name, "role": role,
            "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
        }
        if office:
            claims["office"] = office
        return jwt.encode(claims, self.key, algorithm="EdDSA")


class TokenVerifier:
    """Verifies bearer tokens against the trusted issuers' public keys."""

    def __init__(self, issuers: dict[str, object]) -> None:
        self.issuers = issuers  # issuer -> public key

    def verify(self, authorization: str | None) -> Identity:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("missing bearer token")
        token = authorization[7:].strip()
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"malformed token: {error}") from None
        key = self.issuers.get(issuer)
        if key is None:
            raise Unauthenticated(f"token from an untrusted issuer {issuer!r}")
        try:
            claims = jwt.decode(token, key, algorithms=["EdDSA", "RS256", "ES256"], audience=AUDIENCE, issuer=issuer)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        provider = "dev" if issuer == DEV_ISSUER else issuer
        office = claims.get("office")
        return Identity(provider, str(claims["sub"]), str(claims.get("name", "")), str(claims.get("role", "citizen")),
                        str(office) if office else None)


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
        except FileExistsError:
            pass
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key

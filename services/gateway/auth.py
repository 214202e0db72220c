"""Who is calling: bearer tokens (JWT) verified on every call, and the development issuer."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import Clock, now
from shared.keys import load_or_create_private_key

from .expiring import Expiring
from .jwks import JwksSource, KeysUnavailable

DEV_ISSUER = "paspor-dev"
AUDIENCE = "antrian-paspor"
ALGORITHMS = ["EdDSA", "RS256", "ES256"]
ROLES = ("citizen", "officer", "operator")
LEEWAY_SECONDS = 30  # clocks of the issuer and the gateway may differ this much
REVERIFY_AFTER_SECONDS = 60  # a token verified once is trusted this long (its times are checked every call)
MAX_PROVIDER_CHARS = 40  # Caller.provider's length
MAX_TOKEN_CHARS = 8192  # real identity tokens are 1-2 KB: a larger one is refused before it is parsed


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
    issued_at: float | None = None  # the token's iat (Unix seconds), if it has one: how fresh a sign-in is

    @property
    def account(self) -> str:
        return f"{self.provider}:{self.subject}"


class DevIssuer:
    """DEVELOPMENT ONLY: signs tokens locally so the embedded mode can be tried with curl."""

    def __init__(self, keys_dir: Path) -> None:
        self.key = load_or_create_private_key(keys_dir / "dev-issuer.pem")
        self.public_key = self.key.public_key()

    def issue(
        self,
        subject: str,
        name: str = "",
        role: str = "citizen",
        office: str | None = None,
        ttl: dt.timedelta = dt.timedelta(hours=12),
    ) -> str:
        return sign_token(self.key, DEV_ISSUER, subject, name=name, role=role, office=office, ttl=ttl)


def sign_token(
    key: Ed25519PrivateKey,
    issuer: str,
    subject: str,
    *,
    name: str = "",
    role: str = "citizen",
    office: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=12),
    key_id: str | None = None,
) -> str:
    """A token for this gateway's audience, as the issuers we run sign them (EdDSA, issued now)."""
    issued = now()
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": subject,
        "role": role,
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if name:
        claims["name"] = name
    if office:
        claims["office"] = office
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id} if key_id else None)


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer: where its keys come from and what its tokens may claim."""

    name: str
    keys: Callable[[str | None], Any]  # key id -> public key
    provider: str
    audience: str = AUDIENCE
    grants_roles: bool = False
    remote: bool = False  # its keys may be fetched over the network


def dev_trust(dev: DevIssuer) -> Issuer:
    """The development issuer, trusted for roles too (it is only ever on in the embedded mode)."""
    return Issuer(DEV_ISSUER, lambda kid: dev.public_key, "dev", AUDIENCE, grants_roles=True)


def jwks_trust(
    name: str, source: JwksSource, provider: str = "", audience: str = AUDIENCE, grants_roles: bool = False
) -> Issuer:
    remote = source.location.startswith(("https://", "http://"))
    return Issuer(name, source.key, provider or provider_id(name), audience, grants_roles, remote)


def provider_id(issuer: str) -> str:
    """A provider's short id (part of every account id): the issuer itself when it fits, else its host and a hash.

    Issuer URLs can be long (a tenant's GUID in Microsoft's); an account's provider has 40 characters.
    """
    if len(issuer) <= MAX_PROVIDER_CHARS:
        return issuer
    host = urlparse(issuer).hostname or "issuer"
    return f"{host[: MAX_PROVIDER_CHARS - 13]}-{hashlib.sha256(issuer.encode()).hexdigest()[:12]}"


class TokenVerifier:
    """Verifies bearer tokens against the trusted issuers' public keys."""

    def __init__(self, issuers: Iterable[Issuer], clock: Clock = now, remember: int = 100_000) -> None:
        self.issuers = {issuer.name: issuer for issuer in issuers}
        self.clock = clock  # expiry is judged by the service's clock, as every other rule
        self.may_block = any(issuer.remote for issuer in self.issuers.values())  # verify in a worker thread
        # A citizen sends one token with every call: its signature is checked once a minute, not each time.
        # So memory follows the tokens seen in the last minute, not every citizen who ever signed in.
        self.verified: Expiring[str, tuple[dict[str, Any], Issuer]] = Expiring(
            REVERIFY_AFTER_SECONDS, remember, self._seconds
        )
        self.lock = threading.Lock()  # tokens are verified in worker threads when an issuer's keys are remote

    def verify(self, authorization: str | None) -> Identity:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("missing bearer token")
        token, at = authorization[7:].strip(), self.clock().timestamp()
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated(f"token too large ({len(token)} characters, at most {MAX_TOKEN_CHARS})")
        with self.lock:
            known = self.verified.get(token)
        if known is not None:
            _check_times(known[0], at)
            return _identity(known[1], known[0])
        issuer, claims = self._verified(token)
        _check_times(claims, at)
        with self.lock:
            self.verified.put(token, (claims, issuer))
        return _identity(issuer, claims)

    def _seconds(self) -> float:
        return self.clock().timestamp()

    def _verified(self, token: str) -> tuple[Issuer, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
            issuer_name = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"malformed token: {error}") from None
        issuer = self.issuers.get(issuer_name) if isinstance(issuer_name, str) else None
        if issuer is None:
            raise Unauthenticated(f"token from an untrusted issuer {str(issuer_name)[:80]!r}")
        return issuer, self._claims(token, issuer, header.get("kid"))

    @staticmethod
    def _claims(token: str, issuer: Issuer, kid: str | None) -> dict[str, Any]:
        try:
            key = issuer.keys(kid)
            return jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=issuer.audience,
                issuer=issuer.name,
                # the times are checked against our clock below, not the library's wall clock
                options={
                    "require": ["exp", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except KeysUnavailable as error:
            raise Unauthenticated(f"cannot check the token's signature: {error}") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from None


def _check_times(claims: dict[str, Any], at: float) -> None:
    """Expired, or not valid yet (issued or valid from the future), by `at`, with 30 s of leeway for skew."""
    times = {name: claims[name] for name in ("exp", "nbf", "iat") if name in claims}
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in times.values()):
        raise Unauthenticated("invalid token: exp, nbf and iat must be numbers (seconds since the epoch)")
    if times["exp"] <= at - LEEWAY_SECONDS:
        raise Unauthenticated("token expired")
    if max(times.get("nbf", at), times.get("iat", at)) > at + LEEWAY_SECONDS:
        raise Unauthenticated("token not valid yet")


def _identity(issuer: Issuer, claims: dict[str, Any]) -> Identity:
    role, office = "citizen", None
    if issuer.grants_roles:
        role = str(claims.get("role", "citizen"))
        office = str(claims["office"]) if claims.get("office") else None
    if role not in ROLES:
        raise Unauthenticated(f"unknown role {role[:20]!r}")
    if role == "officer" and office is None:
        raise Unauthenticated("an officer's token must name their office")
    iat = claims.get("iat")
    issued = float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None
    return Identity(issuer.provider, str(claims["sub"]), str(claims.get("name", ""))[:120], role, office, issued)

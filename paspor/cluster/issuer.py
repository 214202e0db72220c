"""The local cluster's identity provider: a key pair and its JWKS file, trusted by the gateways.

The distributed gateways refuse their built-in development issuer, as in production; they trust
identity providers by JWKS instead. On one machine this issuer stands in for Google or Facebook:
its public keys are a JWKS file, and `paspor cluster token` signs tokens with its private key.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jwt.algorithms import OKPAlgorithm

from services.gateway.auth import sign_token
from shared.keys import load_or_create_private_key

ISSUER = "paspor-local-cluster"
KEY_ID = "local-1"


class LocalIssuer:
    """Signs tokens for the local cluster; its JWKS file is what the gateways trust."""

    def __init__(self, folder: Path) -> None:
        self.key = load_or_create_private_key(folder / "issuer.pem")
        self.jwks_path = folder / "jwks.json"
        jwk = json.loads(OKPAlgorithm.to_jwk(self.key.public_key())) | {"kid": KEY_ID, "use": "sig", "alg": "EdDSA"}
        self.jwks_path.write_text(json.dumps({"keys": [jwk]}))

    def trusted_issuers(self) -> str:
        """The gateways' PASPOR_GATEWAY_ISSUERS value (roles trusted, as for a staff directory)."""
        return json.dumps([{"issuer": ISSUER, "jwks": str(self.jwks_path), "provider": "local", "grants_roles": True}])

    def token(
        self, subject: str, role: str = "citizen", office: str | None = None, ttl: dt.timedelta = dt.timedelta(hours=12)
    ) -> str:
        return sign_token(self.key, ISSUER, subject, role=role, office=office, ttl=ttl, key_id=KEY_ID)

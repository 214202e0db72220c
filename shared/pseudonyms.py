"""Ids derived from personal data (a NIK), keyed so that nobody without the key can guess them back.

A NIK is structured: with a known birth date and district only about 10,000 remain, so an unkeyed
hash (`uuid5`) of it would give the NIK away to anyone who reads the store's aggregate ids. HMAC with
a secret key does not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid

MIN_KEY_BYTES = 32


class InvalidIdentityKey(ValueError):
    """The configured identity key is not base64 of at least 32 bytes."""


class Pseudonyms:
    """Keyed ids (HMAC-SHA256) for values taken from personal data."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise InvalidIdentityKey(f"the identity key must have at least {MIN_KEY_BYTES} bytes (got {len(key)})")
        self._key = key

    @classmethod
    def from_text(cls, text: str) -> Pseudonyms:
        """From the configured form: base64 of the key's bytes."""
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidIdentityKey("the identity key must be base64 (of 32 random bytes)") from None
        return cls(key)

    def id_for(self, kind: str, value: str) -> uuid.UUID:
        """The id of `value` (e.g. a NIK) as an aggregate of `kind`: the same for the same key, unguessable without."""
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it: which key a store's ids were made with."""
        return hmac.new(self._key, b"paspor identity key fingerprint", hashlib.sha256).hexdigest()[:16]

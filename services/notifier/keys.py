"""Ticket signing keys: generated into the data folder in embedded mode, rotated by adding one.

The folder holds ``ticket-signing.pem`` (the current private key), ``ticket-public-keys.json``
({key id: raw public key, hex}: every key whose tickets still verify) and ``ticket-revoked-keys.json``
({key id: when}: keys whose tickets are refused). Rotating replaces the private key and keeps the
old public key trusted, so tickets already issued verify until they expire.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.keys import load_or_create_private_key, write_private_key

from .signing import key_id

PUBLIC_KEYS_FILE = "ticket-public-keys.json"
REVOKED_KEYS_FILE = "ticket-revoked-keys.json"
SIGNING_KEY_FILE = "ticket-signing.pem"


def load_or_create_signing_key(folder: Path) -> Ed25519PrivateKey:
    """The current signing key (``ticket-signing.pem``), created on first use; its public key is trusted."""
    key = load_or_create_private_key(folder / SIGNING_KEY_FILE)
    publish_public_key(folder, key.public_key())
    return key


def publish_public_key(folder: Path, public_key: Ed25519PublicKey) -> None:
    """Add a public key to the trusted list that verifiers (and staff devices) use."""
    keys = read_public_keys_file(folder / PUBLIC_KEYS_FILE)
    kid = key_id(public_key)
    if kid not in keys:
        keys[kid] = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        (folder / PUBLIC_KEYS_FILE).write_text(json.dumps(keys, indent=2))


def read_public_keys_file(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Trusted public keys by key id, from a JSON file {key_id: hex}."""
    return {
        kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw)) for kid, raw in read_public_keys_file(path).items()
    }


def rotate_signing_key(folder: Path) -> str:
    """Replace the signing key with a new one (the old public key stays trusted); the new key id."""
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    publish_public_key(folder, key.public_key())  # trusted before anything is signed with it
    write_private_key(folder / SIGNING_KEY_FILE, key)
    return key_id(key.public_key())


def revoke_key(folder: Path, kid: str, at: str) -> None:
    """Stop trusting a key: its tickets are refused from now on (a compromised or retired key)."""
    trusted = read_public_keys_file(folder / PUBLIC_KEYS_FILE)
    revoked = read_public_keys_file(folder / REVOKED_KEYS_FILE)
    if kid not in trusted and kid not in revoked:
        raise KeyError(kid)
    revoked.setdefault(kid, at)
    (folder / REVOKED_KEYS_FILE).write_text(json.dumps(revoked, indent=2))


def load_revoked(folder: Path) -> dict[str, str]:
    """Revoked key ids and when they were revoked."""
    return read_public_keys_file(folder / REVOKED_KEYS_FILE)


class TrustedKeys:
    """The public keys and revocations of a keys folder, re-read when the files change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: tuple[float, ...] | None = None
        self._keys: tuple[dict[str, Ed25519PublicKey], frozenset[str]] = ({}, frozenset())

    def __call__(self) -> tuple[dict[str, Ed25519PublicKey], frozenset[str]]:
        stamps = tuple(_mtime(self.folder / name) for name in (PUBLIC_KEYS_FILE, REVOKED_KEYS_FILE))
        if stamps != self._seen:
            self._keys = (load_public_keys(self.folder / PUBLIC_KEYS_FILE), frozenset(load_revoked(self.folder)))
            self._seen = stamps
        return self._keys


def _mtime(path: Path) -> float:
    return path.stat().st_mtime_ns if path.exists() else 0.0

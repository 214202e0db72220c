"""Ticket signing keys: generated into the data folder in embedded mode, rotated by adding one."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from .signing import key_id

PUBLIC_KEYS_FILE = "ticket-public-keys.json"


def load_or_create_signing_key(folder: Path) -> Ed25519PrivateKey:
    """The current signing key (``ticket-signing.pem``), created on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ticket-signing.pem"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_signing_key(folder)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
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
    return {kid: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw)) for kid, raw in read_public_keys_file(path).items()}

"""Ed25519 private keys kept in PEM files that only their owner may read: the token issuers' and the ticket signer's.

A key file appears whole or not at all (written aside, then linked or renamed into place), so two
processes that start together never read a half-written key, and both end up with the same one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key

__all__ = ["load_or_create_private_key", "private_key_from_pem", "write_private_key"]


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, generated there on first use (the first of two racing processes wins)."""
    if not path.exists():
        staged = _staged(path, Ed25519PrivateKey.generate())
        try:
            with contextlib.suppress(FileExistsError):
                os.link(staged, path)
        finally:
            staged.unlink()
    return private_key_from_pem(path.read_bytes(), str(path))


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Put a key in `path`, replacing the one there at once."""
    os.replace(_staged(path, key), path)


def private_key_from_pem(pem: bytes, where: str = "the configured key") -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8), or ValueError saying where the wrong key came from."""
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where} is not a PEM private key without a password ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{where} is not an Ed25519 private key")
    return key


def _staged(path: Path, key: Ed25519PrivateKey) -> Path:
    """The key written to a new file beside `path`, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    with os.fdopen(fd, "wb") as file:
        file.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return Path(name)

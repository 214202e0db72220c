"""Private key files: created once, readable by their owner only, and a wrong file is named in the error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shared.keys import load_or_create_private_key, private_key_from_pem, write_private_key


def raw(key) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_processes_starting_together_end_up_with_one_key_only_its_owner_may_read(tmp_path):
    path = tmp_path / "keys" / "issuer.pem"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create_private_key(path), range(16)))
    assert len({raw(key) for key in keys}) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["issuer.pem"]  # nothing staged is left behind


def test_a_written_key_replaces_the_one_in_place(tmp_path):
    path = tmp_path / "signing.pem"
    first = load_or_create_private_key(path)
    second = Ed25519PrivateKey.generate()
    write_private_key(path, second)
    assert raw(load_or_create_private_key(path)) == raw(second) != raw(first)


def test_a_key_that_is_not_ed25519_or_not_a_key_is_refused_by_name(tmp_path):
    other = generate_private_key(SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(ValueError, match="issuer.pem is not an Ed25519 private key"):
        private_key_from_pem(other, "issuer.pem")
    with pytest.raises(ValueError, match="issuer.pem is not a PEM private key"):
        private_key_from_pem(b"hello", "issuer.pem")

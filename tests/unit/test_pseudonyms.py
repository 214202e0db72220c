"""Ids from personal data are keyed: the same NIK gets the same id under one key, an unrelated one under another."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from shared.events import derived_id
from shared.pseudonyms import InvalidIdentityKey, Pseudonyms
from shared.runtime.settings import CommonSettings

NIK = "3525015705900001"
ONE = Pseudonyms(b"one identity key of thirty-two b")
OTHER = Pseudonyms(b"another identity key, 32 bytes!!")


def test_one_key_gives_one_id_per_nik_and_another_key_another():
    assert ONE.id_for("nik", NIK) == ONE.id_for("nik", NIK)
    assert ONE.id_for("nik", NIK) != OTHER.id_for("nik", NIK)
    assert ONE.id_for("nik", NIK) != ONE.id_for("kk", NIK), "the kind of value is part of the id"
    assert ONE.id_for("nik", NIK) != derived_id("nik", NIK), "not the unkeyed uuid5 anyone can compute"


def test_a_fingerprint_names_the_key_without_giving_it_away():
    assert ONE.fingerprint != OTHER.fingerprint
    assert ONE.fingerprint == Pseudonyms(b"one identity key of thirty-two b").fingerprint
    assert b"one identity" not in ONE.fingerprint.encode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [("not base64 at all!", "base64"), (base64.b64encode(b"too short").decode(), "at least 32 bytes")],
)
def test_an_unusable_key_is_refused_with_the_reason(text: str, reason: str):
    with pytest.raises(InvalidIdentityKey, match=reason):
        Pseudonyms.from_text(text)
    with pytest.raises(ValidationError, match=reason):
        CommonSettings(identity_key=text)

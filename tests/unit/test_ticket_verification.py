"""A ticket verifies with the public keys alone, and every kind of bad ticket is refused with its own reason."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ticket_story import DAY, Keys, at, confirmed, issue, notifier

from services.notifier.admission import AdmissionPolicy, check_admission
from services.notifier.codec import b32, pack_claims, unb32, unpack_claims
from services.notifier.render import qr_matrix
from services.notifier.signing import TicketInvalid, verify

POLICY = AdmissionPolicy()
DURING = at("JKT-SEL", DAY, "09:15")


def refusal(payload: str, keys: Keys, now: dt.datetime = DURING, office: str | None = "JKT-SEL") -> str:
    public, revoked = keys()
    with pytest.raises(TicketInvalid) as refused:
        check_admission(verify(payload, public, now, revoked), office, now, POLICY)
    return refused.value.reason


def reclaim(payload: str, **changes: object) -> str:
    """The same ticket with altered claims and the original signature."""
    prefix, claims, signature = payload.split(".")
    altered = dataclasses.replace(unpack_claims(unb32(claims)), **changes)
    return f"{prefix}.{b32(pack_claims(altered))}.{signature}"


def test_a_genuine_ticket_verifies_offline_and_says_what_it_admits():
    key = Ed25519PrivateKey.generate()
    booking = confirmed(queue=37, applicants=3)
    (payload,) = issue(notifier(key), booking)
    public, revoked = Keys(key)()

    claims = verify(payload, public, DURING, revoked)
    check_admission(claims, "JKT-SEL", DURING, POLICY)

    assert (claims.booking_id, claims.office, claims.day, claims.session) == (
        booking.booking_id,
        "JKT-SEL",
        DAY,
        "pagi",
    )
    assert (claims.queue_number, claims.applicants) == (37, 3)
    assert len(qr_matrix(payload)) - 8 <= 45, "QR version 7 or less: scans from a phone screen"


def test_the_payload_carries_no_personal_data_and_fits_a_version_7_qr_code():
    (payload,) = issue(notifier(), confirmed())
    claims = unpack_claims(unb32(payload.split(".")[1]))
    assert {f.name for f in dataclasses.fields(claims)} == {
        "booking_id",
        "office",
        "day",
        "session",
        "queue_number",
        "applicants",
        "expires_at",
        "key_id",
    }
    assert (len(qr_matrix(payload)) - 8 - 17) // 4 == 7
    assert payload == payload.upper(), "QR alphanumeric mode"


def test_a_forged_ticket_signed_by_an_unknown_key_with_a_known_key_id_is_refused_as_bad_signature():
    genuine, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forger_app = notifier(forger)
    forger_app.key_id = notifier(genuine).key_id  # claims to be signed by the office's key
    (forged,) = issue(forger_app, confirmed())
    assert refusal(forged, Keys(genuine)) == "bad_signature"


def test_an_altered_ticket_is_refused_as_bad_signature():
    key = Ed25519PrivateKey.generate()
    (payload,) = issue(notifier(key), confirmed(queue=90))
    assert refusal(reclaim(payload, queue_number=1), Keys(key)) == "bad_signature"
    assert refusal(reclaim(payload, applicants=5), Keys(key)) == "bad_signature"


@pytest.mark.parametrize("cut", [1, 40, 120])
def test_a_truncated_ticket_is_refused(cut):
    key = Ed25519PrivateKey.generate()
    (payload,) = issue(notifier(key), confirmed())
    assert refusal(payload[:-cut], Keys(key)) in ("malformed", "bad_signature")
    assert refusal(payload[:cut], Keys(key)) == "malformed"


def test_a_ticket_signed_with_a_key_we_do_not_trust_is_refused_as_unknown_key():
    (payload,) = issue(notifier(), confirmed())
    assert refusal(payload, Keys(Ed25519PrivateKey.generate())) == "unknown_key"


def test_an_expired_ticket_is_refused_as_expired():
    key = Ed25519PrivateKey.generate()
    (payload,) = issue(notifier(key), confirmed())
    assert refusal(payload, Keys(key), now=at("JKT-SEL", DAY + dt.timedelta(days=1), "00:00")) == "expired"


def test_a_ticket_for_another_office_is_refused_as_wrong_office():
    key = Ed25519PrivateKey.generate()
    (payload,) = issue(notifier(key), confirmed(office="JKT-SEL"))
    assert refusal(payload, Keys(key), office="GRESIK") == "wrong_office"


def test_a_ticket_for_another_day_is_refused_as_wrong_day():
    key = Ed25519PrivateKey.generate()
    (payload,) = issue(notifier(key), confirmed())
    assert refusal(payload, Keys(key), now=at("JKT-SEL", DAY - dt.timedelta(days=1), "09:00")) == "wrong_day"


def test_the_session_window_is_kept_in_the_office_time_zone_with_its_grace():
    key = Ed25519PrivateKey.generate()
    (pagi,) = issue(notifier(key), confirmed(office="MAKASSAR", session="pagi"))
    keys = Keys(key)
    assert refusal(pagi, keys, now=at("MAKASSAR", DAY, "06:59"), office="MAKASSAR") == "wrong_session"
    for ok in ("07:00", "08:00", "12:30"):  # an hour early, on time, in the grace after 12:00 (WITA)
        public, _ = keys()
        check_admission(verify(pagi, public, at("MAKASSAR", DAY, ok)), "MAKASSAR", at("MAKASSAR", DAY, ok), POLICY)
    assert refusal(pagi, keys, now=at("MAKASSAR", DAY, "12:31"), office="MAKASSAR") == "wrong_session"


def test_after_a_rotation_old_tickets_still_verify_until_they_expire():
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (before,) = issue(notifier(old), confirmed())
    (after,) = issue(notifier(new), confirmed())
    public, revoked = Keys(old, new)()
    assert verify(before, public, DURING, revoked).key_id != verify(after, public, DURING, revoked).key_id
    assert refusal(before, Keys(old, new), now=at("JKT-SEL", DAY + dt.timedelta(days=1), "00:01")) == "expired"


def test_a_revoked_key_s_tickets_are_refused_but_the_new_key_s_are_not():
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    (before,) = issue(notifier(old), confirmed())
    (after,) = issue(notifier(new), confirmed())
    keys = Keys(old, new)
    keys.revoked.add(notifier(old).key_id)
    assert refusal(before, keys) == "revoked_key"
    public, revoked = keys()
    verify(after, public, DURING, revoked)


def test_tickets_of_the_first_format_still_verify_and_cannot_be_altered():
    key = Ed25519PrivateKey.generate()
    app = notifier(key)
    booking = confirmed(queue=8)
    body = {
        "v": 1,
        "k": app.key_id,
        "b": booking.booking_id.hex,
        "o": "JKT-SEL",
        "d": DAY.strftime("%Y%m%d"),
        "s": "p",
        "q": 8,
        "n": 2,
        "x": int(at("JKT-SEL", DAY + dt.timedelta(days=1), "00:00").timestamp()),
    }
    signed = "AP1." + _b64(json.dumps(body, separators=(",", ":")).encode())
    legacy = f"{signed}.{_b64(key.sign(signed.encode()))}"
    public, _ = Keys(key)()

    assert verify(legacy, public, DURING).queue_number == 8
    tampered = "AP1." + _b64(json.dumps(body | {"q": 1}, separators=(",", ":")).encode()) + "." + legacy.split(".")[2]
    assert refusal(tampered, Keys(key)) == "bad_signature"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567."
SIGNER = Ed25519PrivateKey.generate()
SIGNED = notifier(SIGNER)


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0),
    replacement=st.sampled_from(ALPHABET),
    queue=st.integers(1, 500),
    applicants=st.integers(1, 5),
    session=st.sampled_from(["pagi", "siang"]),
)
def test_any_one_character_changed_anywhere_in_a_ticket_is_refused(position, replacement, queue, applicants, session):
    booking = confirmed(queue=queue, applicants=applicants, session=session)
    payload = SIGNED.issue(booking).payload
    public, _ = Keys(SIGNER)()
    assert verify(payload, public, DURING).queue_number == queue
    position %= len(payload)
    assume(payload[position] != replacement)
    altered = payload[:position] + replacement + payload[position + 1 :]
    with pytest.raises(TicketInvalid):
        verify(altered, public, DURING)

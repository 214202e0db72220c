"""`paspor ticket verify` on an office device with no network, and key rotation and revocation."""

from __future__ import annotations

import datetime as dt

from ticket_story import DAY, at, confirmed, issue
from typer.testing import CliRunner

from paspor.commands.ticket import app as ticket_cli
from services.notifier.application import NotifierApplication
from services.notifier.keys import TrustedKeys, load_or_create_signing_key
from services.notifier.render import qr_png

runner = CliRunner()
DURING = at("JKT-SEL", DAY, "09:30").isoformat()


def office_notifier(keys_dir) -> NotifierApplication:
    key = load_or_create_signing_key(keys_dir)
    return NotifierApplication(key, env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, trusted=TrustedKeys(keys_dir))


def paspor(*args: str):
    return runner.invoke(ticket_cli, list(args))


def test_a_photo_of_a_ticket_verifies_with_the_public_keys_alone(tmp_path):
    keys = tmp_path / "keys"
    (payload,) = issue(office_notifier(keys), confirmed(queue=21))
    photo = tmp_path / "ticket.png"
    photo.write_bytes(qr_png(payload))
    (keys / "ticket-signing.pem").unlink()  # the office device holds public keys only

    result = paspor("verify", str(photo), "--keys", str(keys), "--office", "JKT-SEL", "--at", DURING)

    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "pagi 08:00-12:00 WIB" in result.output


def test_each_invalid_ticket_is_refused_with_its_reason(tmp_path):
    keys = tmp_path / "keys"
    (payload,) = issue(office_notifier(keys), confirmed())
    cases = {
        "bad_signature": [payload[:-6] + "AAAAAA", "--at", DURING],
        "malformed": [payload[:50], "--at", DURING],
        "wrong_office": [payload, "--office", "GRESIK", "--at", DURING],
        "wrong_day": [payload, "--at", at("JKT-SEL", DAY - dt.timedelta(days=3), "09:00").isoformat()],
        "expired": [payload, "--at", at("JKT-SEL", DAY + dt.timedelta(days=2), "09:00").isoformat(), "--any-day"],
    }
    for reason, args in cases.items():
        result = paspor("verify", args[0], "--keys", str(keys), *args[1:])
        assert result.exit_code == 1 and f"INVALID ({reason})" in result.output, (reason, result.output)
    other = tmp_path / "other"
    (foreign,) = issue(office_notifier(other), confirmed())
    result = paspor("verify", foreign, "--keys", str(keys), "--at", DURING)
    assert result.exit_code == 1 and "INVALID (unknown_key)" in result.output


def test_after_rotation_old_tickets_verify_and_after_revocation_they_do_not(tmp_path):
    keys = tmp_path / "keys"
    (old_ticket,) = issue(office_notifier(keys), confirmed())
    old_key = office_notifier(keys).key_id

    assert paspor("keys", "rotate", "--keys", str(keys)).exit_code == 0
    (new_ticket,) = issue(office_notifier(keys), confirmed())
    assert office_notifier(keys).key_id != old_key
    for ticket in (old_ticket, new_ticket):
        assert paspor("verify", ticket, "--keys", str(keys), "--at", DURING).exit_code == 0

    assert paspor("keys", "revoke", old_key, "--keys", str(keys)).exit_code == 0
    refused = paspor("verify", old_ticket, "--keys", str(keys), "--at", DURING)
    assert refused.exit_code == 1 and "INVALID (revoked_key)" in refused.output
    assert paspor("verify", new_ticket, "--keys", str(keys), "--at", DURING).exit_code == 0
    listing = paspor("keys", "list", "--keys", str(keys)).output
    assert "current (signing)" in listing and "revoked" in listing


def test_the_current_signing_key_cannot_be_revoked_before_a_rotation(tmp_path):
    keys = tmp_path / "keys"
    current = office_notifier(keys).key_id
    result = paspor("keys", "revoke", current, "--keys", str(keys))
    assert result.exit_code == 2 and "rotate" in result.output


def test_a_running_notifier_refuses_a_revoked_key_s_tickets_at_check_in(tmp_path):
    keys = tmp_path / "keys"
    app = office_notifier(keys)
    (old_ticket,) = issue(app, confirmed())
    old_key = app.key_id
    paspor("keys", "rotate", "--keys", str(keys))
    paspor("keys", "revoke", old_key, "--keys", str(keys))

    try:
        app.check_in(old_ticket, "dev:officer", "JKT-SEL", at("JKT-SEL", DAY, "09:00"))
    except Exception as error:  # noqa: BLE001 - the refusal's code is what we check
        assert getattr(error, "code", None) == "revoked_key"
    else:
        raise AssertionError("a revoked key's ticket was admitted")

"""The notifier's configuration: the signing key, the session hours, the check-in window."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import ValidationError

from services.notifier.main import NotifierSettings, build_application
from services.notifier.signing import key_id
from shared.sessions import DEFAULT_SESSION_HOURS, DEFAULT_SESSION_HOURS_TEXT, parse_session_hours, session_window


def test_a_configured_signing_key_signs_the_tickets_and_its_public_key_is_published(tmp_path):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    settings = NotifierSettings(data_dir=tmp_path, event_store="memory", notifier_signing_key=pem)

    app = build_application(settings)

    assert app.key_id == key_id(key.public_key())
    assert app.key_id in json.loads((tmp_path / "keys" / "ticket-public-keys.json").read_text())
    assert not (tmp_path / "keys" / "ticket-signing.pem").exists(), "nothing generated when a key is configured"


def test_without_configuration_a_key_is_generated_once_in_the_data_folder(tmp_path):
    settings = NotifierSettings(data_dir=tmp_path, event_store="memory")
    assert build_application(settings).key_id == build_application(settings).key_id
    assert (tmp_path / "keys" / "ticket-signing.pem").stat().st_mode & 0o777 == 0o600


def test_session_hours_and_the_check_in_window_come_from_configuration(tmp_path):
    settings = NotifierSettings(
        data_dir=tmp_path,
        session_hours="pagi=07:30-11:30,siang=13:00-15:00",
        notifier_checkin_early_minutes=15,
        notifier_checkin_grace_minutes=0,
    )
    opens, closes = settings.policy().window("GRESIK", dt.date(2026, 12, 1), "pagi")
    assert (opens.time(), closes.time(), opens.tzname()) == (dt.time(7, 15), dt.time(11, 30), "WIB")
    with pytest.raises(ValidationError):
        NotifierSettings(data_dir=tmp_path, session_hours="pagi=12:00-08:00")


def test_session_windows_are_told_in_each_office_s_own_time_zone():
    starts, ends = session_window(dt.date(2026, 12, 1), "siang", "Asia/Jayapura")
    assert (starts.isoformat(), ends.isoformat()) == ("2026-12-01T13:00:00+09:00", "2026-12-01T16:00:00+09:00")
    with pytest.raises(ValueError):
        parse_session_hours("pagi at eight")
    with pytest.raises(ValueError):
        session_window(dt.date(2026, 12, 1), "malam", "Asia/Jakarta")


def test_session_hours_give_each_session_of_the_day_once_by_its_name():
    with pytest.raises(ValueError, match="unknown session 'malam'"):
        parse_session_hours("pagi=08:00-12:00,malam=19:00-21:00")
    with pytest.raises(ValueError, match="each session once"):
        parse_session_hours("pagi=08:00-12:00")
    with pytest.raises(ValueError, match="each session once"):
        parse_session_hours("pagi=08:00-12:00,siang=13:00-16:00,pagi=07:00-08:00")
    assert parse_session_hours(DEFAULT_SESSION_HOURS_TEXT) == DEFAULT_SESSION_HOURS


def test_the_desk_lists_kept_in_memory_are_a_week_of_days_unless_configured(tmp_path, monkeypatch):
    assert build_application(NotifierSettings(data_dir=tmp_path, event_store="memory")).desk_days == 7
    monkeypatch.setenv("PASPOR_NOTIFIER_DESK_DAYS", "30")
    assert build_application(NotifierSettings(data_dir=tmp_path, event_store="memory")).desk_days == 30


@pytest.mark.parametrize(
    ("value", "reason"),
    [("0", "greater than or equal to 1"), ("3661", "less than or equal to 3660"), ("a week", "valid integer")],
)
def test_a_desk_horizon_that_is_not_a_number_of_days_from_1_to_3660_is_refused(tmp_path, monkeypatch, value, reason):
    monkeypatch.setenv("PASPOR_NOTIFIER_DESK_DAYS", value)
    with pytest.raises(ValidationError, match=f"notifier_desk_days\\n.*{reason}"):
        NotifierSettings(data_dir=tmp_path)

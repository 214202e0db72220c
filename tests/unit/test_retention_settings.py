"""The retention settings refuse what would break the wire: streams must keep a message longer than their
duplicate window (else a relay's re-send is published twice), and an idempotency key must outlive retries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.runtime.bus import Retention
from shared.runtime.settings import CommonSettings


def test_by_default_the_streams_keep_a_season_and_a_key_is_answered_the_same_for_a_day():
    assert CommonSettings().retention == Retention(400, 86_400)


def test_short_horizons_for_a_soak_are_taken(monkeypatch):
    monkeypatch.setenv("PASPOR_STREAM_MAX_AGE_DAYS", "0.01")
    monkeypatch.setenv("PASPOR_IDEMPOTENCY_TTL_SECONDS", "900")
    assert CommonSettings().retention == Retention(0.01, 900)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PASPOR_STREAM_MAX_AGE_DAYS", "0.001", "120 s duplicate window"),
        ("PASPOR_STREAM_MAX_AGE_DAYS", "0", "120 s duplicate window"),
        ("PASPOR_STREAM_MAX_AGE_DAYS", "a season", "valid number"),
        ("PASPOR_STREAM_MAX_AGE_DAYS", "4000", "less than or equal to 3650"),
        ("PASPOR_IDEMPOTENCY_TTL_SECONDS", "30", "greater than or equal to 60"),
        ("PASPOR_IDEMPOTENCY_TTL_SECONDS", "1 day", "valid integer"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        CommonSettings()
    assert name.removeprefix("PASPOR_").lower() in str(refused.value) and says in str(refused.value)

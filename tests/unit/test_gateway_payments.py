"""The payment callback at the gateway: only the provider's signature, within the window, reaches booking."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_fakes import FakeServices, gateway_app
from support import NOW

from services.gateway.callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackCheck, sign
from shared.clock import FixedClock
from shared.events import Commands

SECRET = b"the provider's shared secret"
CODE = "123456789012347"


class Provider:
    """The booking service's answers to payments, by billing code: paid once, then duplicates."""

    def __init__(self) -> None:
        self.seen: dict[str, dict] = {}

    def __call__(self, command) -> dict:
        if command.reference in self.seen:
            return {"payment": self.seen[command.reference] | {"duplicate": True}}
        outcome = (
            "unknown_billing_code"
            if command.billing_code != CODE
            else ("wrong_amount" if command.amount != 350_000 else "paid")
        )
        self.seen[command.reference] = {"reference": command.reference, "outcome": outcome, "detail": outcome}
        return {"payment": self.seen[command.reference]}


@pytest.fixture
def gateway(tmp_path: Path):
    services = FakeServices()
    services.handlers[Commands.RECORD_PAYMENT] = Provider()
    api, gw, _ = gateway_app(tmp_path, services)
    gw.payments = CallbackCheck(SECRET, dt.timedelta(minutes=5), FixedClock(NOW))
    with TestClient(api) as client:
        yield client, services


def callback(client, body: dict, at: dt.datetime = NOW, secret: bytes = SECRET, tamper: bool = False):
    raw = json.dumps(body).encode()
    timestamp = str(int(at.timestamp()))
    signature = sign(secret, timestamp, raw)
    if tamper:
        raw = json.dumps(body | {"amount": body["amount"] + 1}).encode()
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
    return client.post("/v1/payments/callback", content=raw, headers=headers)


def payment(reference: str = "bank-0001", amount: int = 350_000, code: str = CODE) -> dict:
    return {"reference": reference, "billing_code": code, "amount": amount, "paid_at": NOW.isoformat()}


def asked(services: FakeServices) -> int:
    return services.asked.count(Commands.RECORD_PAYMENT)


def test_a_signed_callback_within_the_window_pays_and_its_duplicate_changes_nothing(gateway):
    client, services = gateway
    first = callback(client, payment())
    assert first.status_code == 200 and first.json()["outcome"] == "paid" and not first.json()["duplicate"]
    again = callback(client, payment(), at=NOW + dt.timedelta(minutes=1))
    assert again.status_code == 200 and again.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("why", "kwargs", "code"),
    [
        ("tampered body", {"tamper": True}, "invalid_signature"),
        ("another secret", {"secret": b"a guess"}, "invalid_signature"),
        ("a replay, signed 6 minutes ago", {"at": NOW - dt.timedelta(minutes=6)}, "stale_callback"),
        ("signed in the future", {"at": NOW + dt.timedelta(minutes=6)}, "stale_callback"),
    ],
)
def test_a_callback_not_signed_by_the_provider_now_is_refused_before_booking_hears_of_it(gateway, why, kwargs, code):
    client, services = gateway
    answer = callback(client, payment(), **kwargs)
    assert answer.status_code == 401 and answer.json()["code"] == code, why
    assert answer.json()["detail_id"], "the refusal is in Indonesian too"
    assert asked(services) == 0


def test_a_callback_without_headers_or_with_a_bad_body_is_refused(gateway):
    client, services = gateway
    assert client.post("/v1/payments/callback", json=payment()).status_code == 401
    broken = callback(client, {"reference": "x", "billing_code": CODE, "amount": "lots", "paid_at": NOW.isoformat()})
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_request"
    assert asked(services) == 0


def test_a_wrong_amount_or_unknown_code_is_refused_once_recorded(gateway):
    client, services = gateway
    wrong = callback(client, payment(amount=349_999))
    unknown = callback(client, payment(reference="bank-0002", code="999999999999999"))
    assert (wrong.status_code, wrong.json()["code"]) == (422, "wrong_amount")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_billing_code")
    assert asked(services) == 2, "each was recorded by the booking service (its event), then refused"

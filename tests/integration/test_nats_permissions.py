"""NATS lets each part of the system say only what is its to say (the embedded system, as `paspor up` runs it).

Without a key nobody gets in: no phantom `BookingRequested` that would hold places for ever, no
reading of anyone's booking. With the gateway's key one may ask, but never publish an event nor ask
quota to decide a booking. And a query for a booking names whose it is, or an explicit staff role.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from support import PROBE, bookable_day, booking_body, sign_in, signing, until

from paspor.embedded import EmbeddedSystem
from shared.events import BookingRequested, Commands, GetBooking, Slot, partition_of, partition_subject, subject_for
from shared.runtime.natsauth import KeyFolder

OFFICE = "MALANG"
EVENT_STREAMS = ("PASPOR_BOOKING", "PASPOR_QUOTA", "PASPOR_TICKET")


def phantom_request() -> BookingRequested:
    """A booking request no citizen made: quota would hold five places for it."""
    return BookingRequested(
        booking_id=uuid.uuid4(), slot=Slot(office=OFFICE, date=bookable_day(9), session="pagi"), applicants=5
    )


async def connect_as(system: EmbeddedSystem, user: str, errors: list[Exception]) -> Client:
    async def collect(error: Exception) -> None:
        errors.append(error)

    return await nats.connect(system.nats.url, name=PROBE, error_cb=collect, **system.login(user).connect_options())


async def stream_sequences(system: EmbeddedSystem) -> dict[str, int]:
    errors: list[Exception] = []
    nc = await connect_as(system, "auditor", errors)
    try:
        js = nc.jetstream()
        return {name: (await js.stream_info(name)).state.last_seq for name in EVENT_STREAMS}
    finally:
        await nc.close()


def violations(errors: list[Exception]) -> list[str]:
    return [str(e) for e in errors if "permissions violation" in str(e).lower()]


async def test_a_client_without_a_key_can_neither_inject_a_booking_request_nor_read_a_booking(system, tmp_path):
    request = phantom_request()
    before = await stream_sequences(system)

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(system.nats.url, allow_reconnect=False, max_reconnect_attempts=0)
    stranger = KeyFolder(tmp_path).environment("gateway")["PASPOR_NATS_NKEY_FILE"]  # a key the server never saw
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(system.nats.url, nkeys_seed=stranger, allow_reconnect=False, max_reconnect_attempts=0)

    # and so: nothing was published, nothing could be asked
    assert await stream_sequences(system) == before
    assert subject_for(request, OFFICE).startswith("paspor.booking.")


async def test_the_gateways_key_cannot_publish_an_event_nor_ask_quota_to_decide(system):
    before = await stream_sequences(system)
    errors: list[Exception] = []
    gateway = await connect_as(system, "gateway", errors)
    try:
        request = phantom_request()
        await gateway.publish(subject_for(request, OFFICE), request.model_dump_json().encode())
        await gateway.publish(partition_subject("quota", partition_of(OFFICE), "decided"), b"{}")
        await gateway.publish(partition_subject("ticket", partition_of(OFFICE), "issued"), b"{}")
        with pytest.raises(nats.errors.TimeoutError):  # nobody hears it: the server refused it
            await gateway.request(
                Commands.for_office(Commands.DECIDE_BOOKING, OFFICE), request.model_dump_json().encode(), timeout=1
            )
        await until(lambda: len(violations(errors)) >= 4, 5, "the server reports each refused publish")
    finally:
        await gateway.close()

    assert all("publish" in v for v in violations(errors)), violations(errors)
    assert await stream_sequences(system) == before, "no event reached any stream"


async def test_no_service_reads_the_replies_meant_for_another(system):
    errors: list[Exception] = []
    notifier = await connect_as(system, "notifier", errors)
    try:
        await notifier.subscribe("_INBOX.gateway.>")
        await notifier.subscribe("paspor.cmd.booking.>")
        await until(lambda: len(violations(errors)) >= 2, 5, "the server refuses both subscriptions")
    finally:
        await notifier.close()
    assert all("subscription" in v for v in violations(errors)), violations(errors)


async def ask(system: EmbeddedSystem, query: GetBooking) -> dict[str, Any]:
    errors: list[Exception] = []
    gateway = await connect_as(system, "gateway", errors)
    try:
        return json.loads((await gateway.request(Commands.GET_BOOKING, query.model_dump_json().encode(), 5)).data)
    finally:
        await gateway.close()


def test_a_booking_is_read_by_its_owner_or_by_an_explicit_staff_role_never_by_a_missing_account(system):
    with signing(httpx.Client(base_url=system.gateway_url, timeout=30)) as client:
        lina = sign_in(client, "lina-permissions@example.com")
        response = client.post(
            "/v1/bookings",
            json=booking_body(OFFICE, bookable_day(10), "siang", serial=88101),
            headers=lina.headers("lina-permissions-1"),
        )
    assert response.status_code in (201, 202), response.text
    booking_id = uuid.UUID(response.json()["booking_id"])

    anonymous = asyncio.run(ask(system, GetBooking(booking_id=booking_id)))
    assert anonymous["problem"]["code"] == "account_required", anonymous
    assert "staff" in anonymous["problem"]["message_en"] and anonymous["problem"]["message_id"]

    someone_else = GetBooking(booking_id=booking_id, account="dev:someone-else@example.com", device_id="their-phone-01")
    assert asyncio.run(ask(system, someone_else))["problem"]["code"] == "booking_not_found"
    no_device = asyncio.run(ask(system, GetBooking(booking_id=booking_id, account=f"dev:{lina.subject}")))
    assert no_device["problem"]["code"] == "account_required", "a citizen's query names the device too"
    copied = GetBooking(booking_id=booking_id, account=f"dev:{lina.subject}", device_id="not-linas-phone")
    assert asyncio.run(ask(system, copied))["problem"]["code"] == "account_bound_to_other_device"
    hers = GetBooking(booking_id=booking_id, account=f"dev:{lina.subject}", device_id=lina.device)
    assert asyncio.run(ask(system, hers))["booking"]["booking_id"] == str(booking_id)

    officer = asyncio.run(ask(system, GetBooking(booking_id=booking_id, role="officer")))
    assert officer["booking"]["booking_id"] == str(booking_id)

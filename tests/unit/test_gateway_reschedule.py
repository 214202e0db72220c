"""`POST /v1/bookings/{id}/reschedule` through the real gateway, answered by a real booking application.

The citizen books through the gateway, the booking is confirmed, then moved: the gateway forwards the
new slot with the caller and their device, shows the booking still in its old slot until the quota
answers, and refuses a second reschedule as problem+json with its code.
"""

from __future__ import annotations

import uuid

import httpx
from booking_story import World
from gateway_fakes import FakeServices, bearer, gateway_app, next_office_day
from support import NOW, booking_body, signing

from services.booking.errors import BookingError
from services.booking.messaging import refusal
from services.booking.moves import move_id_for
from shared.events import Commands, Slot, SlotReserved


def backed_by(world: World) -> FakeServices:
    """The fake bus, with booking and reschedule answered by the booking application itself."""
    services = FakeServices()

    def answered(action) -> dict:
        try:
            return {"booking": action().model_dump(mode="json")}
        except BookingError as error:
            return refusal(error)

    def request(command) -> dict:
        world.app.accounts.accept_terms(command.caller, world.rules.terms_version, world.now)
        return answered(lambda: world.app.request_booking(command, world.now))

    services.handlers[Commands.REQUEST_BOOKING] = request
    services.handlers[Commands.RESCHEDULE_BOOKING] = lambda c: answered(
        lambda: world.app.reschedule(c.caller, c.booking_id, c.slot, world.now)
    )
    return services


async def test_a_citizen_reschedules_once_and_a_second_time_is_refused_as_a_problem(tmp_path):
    world = World(now=NOW)
    api, _, dev = gateway_app(tmp_path, backed_by(world))
    day, later = next_office_day(5), next_office_day(12)
    headers = bearer(dev)
    async with signing(httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway")) as client:
        booked = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1),
            headers=headers | {"Idempotency-Key": "reschedule-1"},
        )
        assert booked.status_code in (201, 202), booked.text
        booking_id = uuid.UUID(booked.json()["booking_id"])
        world.confirm(booking_id)
        to = {"office": "MADIUN", "date": later.isoformat(), "session": "siang"}
        moving = await client.post(f"/v1/bookings/{booking_id}/reschedule", json=to, headers=headers)
        assert moving.status_code == 200, moving.text
        assert moving.json()["slot"]["office"] == "GRESIK", "the old slot stays held until the new one is given"
        assert "reschedule to MADIUN" in moving.json()["history"][-1]["detail"]
        slot = Slot.model_validate(to)
        world.app.outcomes.apply(
            [SlotReserved(booking_id=move_id_for(booking_id), slot=slot, queue_number=4, remaining=1)],
            world.now,
        )
        again = await client.post(
            f"/v1/bookings/{booking_id}/reschedule", json=to | {"session": "pagi"}, headers=headers
        )
        no_device = await client.post(
            f"/v1/bookings/{booking_id}/reschedule", json=to, headers=bearer(dev, device=None)
        )
        bad = await client.post(
            f"/v1/bookings/{booking_id}/reschedule", json=to | {"session": "malam"}, headers=headers
        )
    assert world.app.view(booking_id).slot == slot
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "already_rescheduled"
    assert no_device.status_code in (400, 401, 403, 422) and bad.status_code == 422

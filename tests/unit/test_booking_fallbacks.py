"""A citizen's fallback sessions: asked for with the booking, sent to quota, and confirmed where quota decided."""

from __future__ import annotations

import uuid

import httpx
import pytest
from booking_story import World, nik
from gateway_fakes import FakeServices, bearer, gateway_app, next_office_day
from pydantic import ValidationError
from support import booking_body, signing

from paspor.audit.booking_ledger import BookingLedger
from paspor.audit.findings import AuditResult
from paspor.audit.records import Record
from paspor.audit.scope import Scope
from services.booking.domain import Rules
from services.booking.messaging import to_wire
from shared.events import BookingConfirmed, BookingRequested, Commands, RequestBooking, SlotReserved


def flexible(world: World, subject: str, serial: int, fallbacks: list[str]):
    """A booking for the morning that also takes the afternoon (or whatever `fallbacks` says)."""
    request = world.request(world.signed_up(subject), [nik(serial)])
    return world.app.request_booking(
        RequestBooking.model_validate(request.model_dump() | {"fallbacks": fallbacks}), world.now
    )


def reserved_in(world: World, booking_id: uuid.UUID, session: str, number: int = 1) -> None:
    booking = world.app.booking(booking_id)
    slot = {"office": booking.office, "date": booking.day, "session": session}
    world.app.outcomes.apply(
        [SlotReserved(booking_id=booking_id, slot=slot, queue_number=number, remaining=0)], world.now
    )


def wire(world: World, booking_id: uuid.UUID) -> list:
    return [m for e in world.app.repository.event_store.get(booking_id) for _, m in to_wire(e, 8)]


def test_a_booking_reserved_in_its_fallback_is_confirmed_there_and_says_so_on_the_wire():
    world = World()
    booking = flexible(world, "siti", 1, ["siang"])
    reserved_in(world, booking.booking_id, "siang", number=4)
    view = world.app.view(booking.booking_id)
    assert (view.status.value, view.slot.session.value, view.queue_number) == ("confirmed", "siang", 4)
    assert view.history[-1].detail == "queue number 4, siang"
    requested, confirmed = wire(world, booking.booking_id)
    assert isinstance(requested, BookingRequested) and [s.value for s in requested.fallbacks] == ["siang"]
    assert requested.slot.session.value == "pagi", "the request still names the session wanted first"
    assert isinstance(confirmed, BookingConfirmed) and confirmed.slot.session.value == "siang"


def test_a_cancellation_after_a_fallback_gives_back_the_session_it_held():
    world = World()
    booking = flexible(world, "siti", 1, ["siang"])
    reserved_in(world, booking.booking_id, "siang")
    world.app.cancel(world.caller("siti"), booking.booking_id, world.now)
    assert wire(world, booking.booking_id)[-1].slot.session.value == "siang"


def test_a_reservation_in_a_session_it_never_chose_does_not_confirm_it():
    world = World()
    fixed = flexible(world, "siti", 1, [])
    reserved_in(world, fixed.booking_id, "siang")
    view = world.app.view(fixed.booking_id)
    assert (view.status.value, view.slot.session.value) == ("requested", "pagi")
    world.confirm(fixed.booking_id, queue_number=2)  # its own session still confirms it
    assert world.app.view(fixed.booking_id).status.value == "confirmed"


@pytest.mark.parametrize(
    ("fallbacks", "why"),
    [
        (["pagi"], "must differ from the session wanted"),
        (["siang", "siang"], "must appear once"),
        (["siang", "malam"], "Input should be"),
        (["siang", "pagi", "siang"], "at most 2"),
    ],
)
def test_fallbacks_are_other_sessions_named_once(fallbacks, why):
    request = World().request(World().caller("siti"), [nik(1)]).model_dump()
    with pytest.raises(ValidationError, match=why):
        RequestBooking.model_validate(request | {"fallbacks": fallbacks})


def client_for(api) -> httpx.AsyncClient:
    return signing(httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway"))


async def test_the_gateway_sends_the_fallbacks_on_and_refuses_bad_ones_as_a_problem_changing_nothing(tmp_path):
    services, day, sent = FakeServices(), next_office_day(), []
    request = services.handlers[Commands.REQUEST_BOOKING]
    services.handlers[Commands.REQUEST_BOOKING] = lambda command: sent.append(command) or request(command)
    api, _, dev = gateway_app(tmp_path, services)
    async with client_for(api) as client:
        good = await client.post(
            "/v1/bookings",
            json=booking_body("GRESIK", day, "pagi", 1) | {"fallbacks": ["siang"]},
            headers=bearer(dev) | {"Idempotency-Key": "fallback-0001"},
        )
        bad = [
            await client.post(
                "/v1/bookings",
                json=booking_body("GRESIK", day, "pagi", 2) | {"fallbacks": fallbacks},
                headers=bearer(dev) | {"Idempotency-Key": f"fallback-bad-{n:04d}"},
            )
            for n, fallbacks in enumerate([["pagi"], ["siang", "siang"], "siang", ["sore"]])
        ]
    assert good.status_code == 201 and [s.value for s in sent[0].fallbacks] == ["siang"]
    assert [r.status_code for r in bad] == [422] * 4
    assert all(r.headers["content-type"] == "application/problem+json" for r in bad)
    assert {r.json()["code"] for r in bad} == {"invalid_request"}
    assert len(sent) == 1, "a refused body reaches no service"


def audited(fallbacks: list[str], confirmed_in: str) -> list[str]:
    """What the audit's booking ledger finds in a booking asked for the morning and confirmed in `confirmed_in`."""
    result = AuditResult()
    ledger = BookingLedger(result, Scope(), Rules())
    asked = {"account_id": "acc-1", "office": "GRESIK", "day": "2027-01-18", "session": "pagi", "fallbacks": fallbacks}
    asked["applicants"] = [{"nik": nik(1)}]
    ledger.apply(Record("booking", 1, "b-1", 1, "Booking.Requested", asked))
    ledger.apply(Record("booking", 2, "b-1", 2, "Booking.Confirmed", {"session": confirmed_in, "queue_number": 1}))
    return [f.code for f in result.findings] + [" ".join(ledger.bookings["b-1"].slot)]


def test_the_audit_takes_a_confirmation_in_a_fallback_and_reports_one_in_a_session_never_chosen():
    assert audited(["siang"], "siang") == ["GRESIK 2027-01-18 siang"], "checked against the fallback's reservation"
    assert audited([], "pagi") == ["GRESIK 2027-01-18 pagi"]
    assert audited([], "siang") == ["confirmed_outside_choices", "GRESIK 2027-01-18 pagi"]

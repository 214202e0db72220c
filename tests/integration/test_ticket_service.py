"""Check-in through the gateway against a real nats-server: the notifier (with an office clock) and the
gateway run in this process; the booking service hears BookingCheckedIn and BookingNoShow on JetStream."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
from pathlib import Path

import httpx
import nats
import pytest
from ticket_story import DAY, at, cancelled, confirmed

from services.gateway.main import GatewaySettings, build
from services.notifier.main import NotifierSettings, build_application
from services.notifier.messaging import BOOKINGS, batch_handler, register_queries, to_wire
from services.notifier.render import qr_png
from services.notifier.sweeps import no_shows_once
from shared.events import Commands, GetTicket, subject_for
from shared.runtime.consumer import BatchConsumer
from shared.runtime.relay import Relay
from shared.runtime.service import Runtime


class Office:
    """A notifier whose clock reads the office's time, a gateway, and a JetStream listener."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url, self.now = url, at("JKT-SEL", DAY, "09:05")
        self.settings = NotifierSettings(nats_url=url, data_dir=data_dir, event_store="sqlite")
        self.runtime = Runtime("notifier", self.settings)
        self.app = build_application(self.settings)
        self.api, self.bus = build(GatewaySettings(nats_url=url, data_dir=data_dir, gateway_dev_issuer=True))

    async def start(self) -> None:
        js = await self.runtime.start()
        self.relay = Relay("notifier", self.app, js, functools.partial(to_wire, partitions=8), self.runtime.writer)
        consumer = BatchConsumer(
            js, BOOKINGS, batch_handler(self.app, self.runtime.writer, self.relay.wake), "notifier"
        )
        self.runtime.spawn(consumer.run(), "bookings")
        self.runtime.spawn(self.relay.run(), "relay")
        register_queries(self.runtime.broker, self.app, self.runtime.writer, self.relay.wake, lambda: self.now)
        await self.runtime.broker.start()
        await self.bus.broker.start()
        self.nc = await nats.connect(self.url)
        self.js = self.nc.jetstream()

    async def stop(self) -> None:
        await self.nc.close()
        await self.bus.broker.stop()
        await self.runtime.stop()
        self.app.close()

    async def publish(self, event) -> None:  # noqa: ANN001
        await self.js.publish(subject_for(event, event.slot.office), event.model_dump_json().encode())

    async def payload(self, booking_id) -> str:  # noqa: ANN001
        for _ in range(200):
            reply = await self.bus.ask(Commands.GET_TICKET, GetTicket(booking_id=booking_id))
            if "ticket" in reply:
                return reply["ticket"]["payload"]
            await asyncio.sleep(0.05)
        raise AssertionError("no ticket issued")

    async def next_event(self, verb: str) -> dict:
        sub = await self.js.subscribe(f"paspor.ticket.*.{verb}", ordered_consumer=True)
        msg = await sub.next_msg(timeout=10)
        await sub.unsubscribe()
        return json.loads(msg.data)


@pytest.fixture
async def office(nats_server, tmp_path):
    running = Office(nats_server.url, tmp_path)
    await running.start()
    yield running
    await running.stop()


async def token(http: httpx.AsyncClient, subject: str, **claims: str) -> dict[str, str]:
    response = await http.post("/v1/dev/token", json={"subject": subject, **claims})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_officer_checks_a_ticket_in_once_and_the_second_scan_says_when_and_by_whom(office):
    booking = confirmed(office="JKT-SEL", queue=5, applicants=2)
    await office.publish(booking)
    payload = await office.payload(booking.booking_id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(office.api), base_url="http://gateway") as http:
        ani = await token(http, "ani", role="officer", office="JKT-SEL")

        first = await http.post("/v1/checkin", json={"payload": payload}, headers=ani)
        office.now += dt.timedelta(minutes=20)
        image = base64.b64encode(qr_png(payload)).decode()
        second = await http.post(
            "/v1/checkin", json={"image": image}, headers=await token(http, "budi", role="officer", office="JKT-SEL")
        )

    assert first.status_code == 200, first.text
    assert (first.json()["queue_number"], first.json()["applicants"], first.json()["officer"]) == (5, 2, "dev:ani")
    assert second.status_code == 409 and second.json()["code"] == "already_checked_in"
    assert second.json()["detail"] == "Already checked in at 09:05 by dev:ani."
    assert second.json()["checked_in"]["officer"] == "dev:ani"
    event = await office.next_event("checked_in")
    assert (event["type"], event["booking_id"], event["officer"]) == (
        "BookingCheckedIn",
        str(booking.booking_id),
        "dev:ani",
    )


async def test_check_in_is_for_officers_of_the_ticket_s_office_and_confirmed_bookings_only(office):
    kept, dropped = confirmed(office="JKT-SEL"), confirmed(office="JKT-SEL")
    await office.publish(kept)
    await office.publish(dropped)
    payloads = [await office.payload(b.booking_id) for b in (kept, dropped)]
    await office.publish(cancelled(dropped))
    await asyncio.sleep(0.5)  # the cancellation reaches the notifier
    async with httpx.AsyncClient(transport=httpx.ASGITransport(office.api), base_url="http://gateway") as http:
        citizen = await http.post("/v1/checkin", json={"payload": payloads[0]}, headers=await token(http, "siti"))
        elsewhere = await http.post(
            "/v1/checkin",
            json={"payload": payloads[0]},
            headers=await token(http, "dewi", role="officer", office="GRESIK"),
        )
        void = await http.post(
            "/v1/checkin",
            json={"payload": payloads[1]},
            headers=await token(http, "ani", role="officer", office="JKT-SEL"),
        )
        junk = await http.post(
            "/v1/checkin",
            json={"image": base64.b64encode(b"no picture").decode()},
            headers=await token(http, "ani", role="officer", office="JKT-SEL"),
        )

    assert (citizen.status_code, citizen.json()["code"]) == (403, "forbidden")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "wrong_office")
    assert (void.status_code, void.json()["code"]) == (409, "booking_cancelled")
    assert (junk.status_code, junk.json()["code"]) == (422, "malformed")


async def test_a_booking_nobody_checked_in_becomes_a_no_show_when_its_session_is_over(office):
    booking = confirmed(office="JKT-SEL", session="pagi")
    await office.publish(booking)
    await office.payload(booking.booking_id)

    assert await no_shows_once(office.app, office.runtime.writer, at("JKT-SEL", DAY, "12:31")) == 1
    office.relay.wake()

    event = await office.next_event("no_show")
    assert (event["type"], event["booking_id"]) == ("BookingNoShow", str(booking.booking_id))

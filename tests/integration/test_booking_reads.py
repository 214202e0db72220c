"""Reads during a rush do not wait behind saves: a booking is looked at while the booking writer is busy.

The booking service runs here in the test's own process (as `paspor service booking` runs it, on SQLite,
against a real nats-server), so the story can hold its single writer thread in the middle of a "save"
for as long as it likes. Meanwhile a new booking, which must be saved, waits; a citizen asking for the
booking they already have is answered at once, from the store, by a reader beside the writer.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from support import bookable_day, kk, nik

from services.booking.main import BookingSettings, run
from shared.events import AcceptTerms, Applicant, Caller, Commands, GetBooking, RequestBooking
from shared.runtime.service import Runtime

PATIENCE = 5.0  # seconds: far more than a read takes, far less than the writer is held


def citizen(name: str) -> Caller:
    return Caller(provider="google", subject=f"{name}@example.com", device_id=f"phone-of-{name}")


def booking_of(caller: Caller, serial: int) -> RequestBooking:
    return RequestBooking(
        caller=caller,
        idempotency_key=f"key-{caller.subject}",
        slot={"office": "MAKASSAR", "date": bookable_day(4), "session": "siang"},
        kk_number=kk(serial),
        applicants=[Applicant(name=f"Applicant {serial}", nik=nik(serial), birth_date="1990-05-17")],
    )


async def ask(nc: nats.NATS, subject: str, message, timeout: float = PATIENCE) -> dict:  # noqa: ANN001
    return json.loads((await nc.request(subject, message.model_dump_json().encode(), timeout=timeout)).data)


async def first_answer(nc: nats.NATS, subject: str, message, seconds: float = 30) -> dict:  # noqa: ANN001
    """The service's answer once it listens (until then NATS says nobody does)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await ask(nc, subject, message)
        except NoRespondersError:
            assert asyncio.get_running_loop().time() < deadline, "the booking service did not start listening"
            await asyncio.sleep(0.05)


class HeldWriter:
    """A job that occupies the service's single writer thread until released: a save that takes long."""

    def __init__(self, runtime: Runtime) -> None:
        self.running, self.release = threading.Event(), threading.Event()
        self.job = runtime.writer.submit(self._hold)

    def _hold(self) -> None:
        self.running.set()
        self.release.wait(60)

    async def started(self) -> None:
        assert await asyncio.to_thread(self.running.wait, PATIENCE), "the writer took the job"


async def story(nats_url: str, data_dir: Path) -> None:
    # No quota worker here: fast path off, so a booking simply stays requested.
    settings = BookingSettings(
        nats_url=nats_url,
        data_dir=data_dir,
        event_store="sqlite",
        booking_fast_path=False,
        booking_cache_fastforward=False,
    )
    runtime = Runtime("booking", settings)
    service = asyncio.create_task(run(settings, runtime))
    nc = await nats.connect(nats_url)
    held: HeldWriter | None = None
    try:
        rina, dodi = citizen("rina"), citizen("dodi")
        for caller in (rina, dodi):
            accepted = await first_answer(nc, Commands.ACCEPT_TERMS, _terms(caller))
            assert accepted["terms"]["accepted"], accepted
        existing = (await ask(nc, Commands.REQUEST_BOOKING, booking_of(rina, 6101)))["booking"]

        held = HeldWriter(runtime)
        await held.started()
        waiting_save = asyncio.ensure_future(ask(nc, Commands.REQUEST_BOOKING, booking_of(dodi, 6102), timeout=60))
        mine = GetBooking(booking_id=existing["booking_id"], account=f"google:{rina.subject}", device_id=rina.device_id)
        try:
            looked_up = await ask(nc, Commands.GET_BOOKING, mine)
        except NatsTimeout:
            pytest.fail(f"no answer within {PATIENCE}s: the read waited behind the busy writer")

        assert looked_up["booking"]["booking_id"] == existing["booking_id"]
        assert looked_up["booking"]["status"] == "requested"
        assert held.job.running() and not waiting_save.done(), "the writer was busy all along, the save still waits"
        held.release.set()
        assert "booking" in await waiting_save, "the save behind it went through once the writer was free"
    finally:
        if held is not None:
            held.release.set()
        await nc.close()
        runtime.stop_soon()
        await service


def _terms(caller: Caller) -> AcceptTerms:
    return AcceptTerms(caller=caller, version=BookingSettings().booking_terms_version)


def test_a_booking_is_read_while_the_booking_writer_is_busy_saving(nats_server, tmp_path):
    asyncio.run(story(nats_server.url, tmp_path))

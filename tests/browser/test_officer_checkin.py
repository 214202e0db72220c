"""Officer check-in in a real browser: a ticket from an uploaded photo, one from the camera, and second scans.

Check-in is open only on the ticket's own day, from an hour before its session. So the citizens book on the
suite's pinned day, the system stops, and it starts again on the same data folder with its clock at 08:30 on
the appointment day (PASPOR_CLOCK_START), as an office opening that morning would find it.

The camera is Chromium's fake capture device playing a Y4M video of the ticket's QR code
(`--use-file-for-fake-video-capture`). Debian's Chromium on Linux has no BarcodeDetector, so the page sends
frames to the gateway, which reads the QR code server-side: the same path a desktop browser at a desk takes.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

import httpx
import pytest
from catalogue import say
from citizens import Citizen
from conftest import DESKTOP, TIMEOUT_MS, beside_playwright
from playwright.sync_api import expect
from staff import qr_video, signed_in, staff_token
from support import JAKARTA, bookable_day, pay_fee

from paspor.embedded import EmbeddedSystem
from paspor.natsserver import free_port

DAY = bookable_day(3)
MORNING = dt.datetime.combine(DAY, dt.time(8, 30), JAKARTA)  # GRESIK keeps Jakarta time


@dataclass
class Ticket:
    payload: str
    queue_number: int
    png: bytes


@dataclass
class Desk:
    system: EmbeddedSystem
    tickets: list[Ticket]


def issued(citizen: Citizen, booking_id: str) -> Ticket:
    deadline = time.monotonic() + 20
    while (answer := citizen.call("GET", f"/v1/bookings/{booking_id}/ticket")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)
    png = citizen.call("GET", f"/v1/bookings/{booking_id}/ticket.png")
    return Ticket(answer.json()["payload"], answer.json()["queue_number"], png.content)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("office-desk")
    booking_days = EmbeddedSystem(folder, gateway_port=free_port())
    beside_playwright(booking_days.start)
    try:
        with httpx.Client(base_url=booking_days.gateway_url, timeout=30) as api:
            citizens = [Citizen(api, serial) for serial in (7101, 7102, 7103)]
            booked = [c.book("GRESIK", DAY, "pagi") for c in citizens]
            for booking in booked:  # paid: an unpaid booking is voided at its deadline, long before the day
                pay_fee(api, folder, booking["payment"], f"bank-{booking['booking_id']}").raise_for_status()
            tickets = [issued(c, booking["booking_id"]) for c, booking in zip(citizens, booked, strict=True)]
    finally:
        beside_playwright(booking_days.stop)
    clock = {"PASPOR_CLOCK_START": MORNING.isoformat(), "PASPOR_CLOCK_STARTED": str(time.time())}
    on_the_day = EmbeddedSystem(folder, gateway_port=free_port(), env=clock)
    beside_playwright(on_the_day.start)
    yield Desk(on_the_day, tickets)
    beside_playwright(on_the_day.stop)


def test_an_officer_signs_in_and_checks_a_ticket_in_from_an_uploaded_photo_then_a_second_time(
    desk, open_page, shoot, tmp_path
):
    first = desk.tickets[0]
    photo = tmp_path / "ticket.png"
    photo.write_bytes(first.png)
    page = open_page(desk.system.gateway_url, "phone")
    page.goto("/officer/")
    page.get_by_label(say("id", "staff.signin.email")).fill("ani@kanim.example")
    page.get_by_label(say("id", "staff.signin.office")).fill("GRESIK")
    shoot(page, "officer-signin")
    page.keyboard.press("Enter")
    expect(page.get_by_text(say("id", "officer.list.waiting", count=3))).to_be_visible()

    page.get_by_label(say("id", "officer.upload.label")).set_input_files(str(photo))

    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(say("id", "officer.verdict.ok"))
    expect(verdict).to_contain_text(say("id", "officer.verdict.queue", number=first.queue_number, session="Pagi"))
    expect(page.get_by_text(say("id", "officer.list.in", count=1))).to_be_visible()
    expect(page.get_by_text(say("id", "officer.list.waiting", count=2))).to_be_visible()
    admitted = page.locator(f"li[data-queue='{first.queue_number}']")
    expect(admitted).to_contain_text(re.compile(r"08[.:]3\d"))  # checked in at the office's time that morning
    shoot(page, "officer-admitted")

    page.get_by_label(say("id", "officer.upload.label")).set_input_files(str(photo))

    expect(verdict).to_contain_text(say("id", "officer.verdict.refused"))
    expect(verdict).to_contain_text(re.compile(r"Sudah check-in 08[.:]3\d oleh dev:ani@kanim\.example"))
    expect(page.get_by_text(say("id", "officer.list.in", count=1))).to_be_visible()
    shoot(page, "officer-already")


def test_the_camera_reads_a_ticket_then_scanning_it_again_says_already_checked_in(
    desk, camera_browser, shoot, tmp_path
):
    second = desk.tickets[1]
    chromium = camera_browser(qr_video(second.payload, tmp_path / "qr.y4m"))
    context = chromium.new_context(base_url=desk.system.gateway_url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    with httpx.Client(base_url=desk.system.gateway_url) as api:
        token = staff_token(api, "budi@kanim.example", "officer", "GRESIK")
    page = signed_in(context.new_page(), "officer", token, "en")
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/officer/")

    page.get_by_role("button", name=say("en", "officer.camera.start")).click()

    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(say("en", "officer.verdict.ok"), timeout=30_000)
    expect(verdict).to_contain_text(say("en", "officer.verdict.queue", number=second.queue_number, session="Morning"))
    shoot(page, "officer-camera")

    page.get_by_role("button", name=say("en", "officer.camera.next")).click()

    expect(verdict).to_contain_text(say("en", "officer.verdict.refused"), timeout=30_000)
    expect(verdict).to_contain_text(re.compile(r"Already checked in at 08[.:]\d\d by dev:budi@kanim\.example"))
    context.close()
    assert not errors, errors


def test_a_pasted_forged_ticket_is_refused_with_its_reason_and_the_desk_stays_usable(desk, open_page, shoot):
    with httpx.Client(base_url=desk.system.gateway_url) as api:
        token = staff_token(api, "citra@kanim.example", "officer", "GRESIK")
    page = signed_in(open_page(desk.system.gateway_url, "desktop"), "officer", token, "id")
    page.goto("/officer/")
    payload = page.get_by_label(say("id", "officer.paste.label"))

    payload.fill(desk.tickets[2].payload[:-6] + "AAAAAA")
    payload.press("Tab")
    page.keyboard.press("Enter")

    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(say("id", "officer.verdict.refused"))
    expect(verdict.locator("[data-verdict]")).to_have_attribute("data-verdict", re.compile("bad_signature|malformed"))
    shoot(page, "officer-refused")

    payload.fill(desk.tickets[2].payload)
    page.get_by_role("button", name=say("id", "officer.paste.submit")).click()
    expect(verdict).to_contain_text(say("id", "officer.verdict.ok"))
    shoot(page, "officer-desk")


def test_the_officer_pages_fit_a_small_phone_and_a_desktop_in_both_languages(desk, open_page, shoot):
    with httpx.Client(base_url=desk.system.gateway_url) as api:
        token = staff_token(api, "dewi@kanim.example", "officer", "GRESIK")
    for viewport, language in (("small", "en"), ("desktop", "en"), ("desktop", "id")):
        signed_out = open_page(desk.system.gateway_url, viewport)
        signed_out.add_init_script(f"localStorage.setItem('paspor.lang', {language!r});")
        signed_out.goto("/officer/")
        expect(signed_out.get_by_role("heading", name=say(language, "officer.signin.title"))).to_be_visible()
        shoot(signed_out, "officer-signin")
        page = signed_in(open_page(desk.system.gateway_url, viewport), "officer", token, language)
        page.goto("/officer/")
        expect(page.get_by_text(say(language, "officer.list.in", count=3))).to_be_visible()
        shoot(page, "officer-desk")

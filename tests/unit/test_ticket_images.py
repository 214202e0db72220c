"""Ticket images and calendar files: a real QR decoder reads them back, and the signature verifies."""

from __future__ import annotations

import io

import icalendar
import pytest
import resvg_py
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from ticket_story import DAY, Keys, at, confirmed, issue, notifier

from services.notifier.render import qr_png, ticket_png, ticket_svg
from services.notifier.schedule import schedule_of, ticket_ics
from services.notifier.signing import verify
from shared.qr import NoQrCode, read_qr


def issued(office: str = "JKT-SEL", session: str = "pagi"):
    key = Ed25519PrivateKey.generate()
    app = notifier(key)
    booking = confirmed(office=office, session=session, queue=37, applicants=3)
    issue(app, booking)
    ticket = app.ticket(booking.booking_id)
    return ticket, schedule_of(ticket, app.policy), Keys(key)


def decode(png: bytes) -> str:
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


def test_the_png_ticket_decodes_with_a_real_qr_reader_and_verifies_offline():
    ticket, schedule, keys = issued()
    png = ticket_png(ticket.payload, schedule)

    text = decode(png)

    assert text == ticket.payload
    public, revoked = keys()
    assert verify(text, public, at("JKT-SEL", DAY, "09:00"), revoked).queue_number == 37
    picture = Image.open(io.BytesIO(png))
    assert picture.width > picture.height, "the schedule sits beside the QR code"


def test_the_svg_ticket_rendered_by_an_svg_engine_decodes_and_verifies_offline():
    ticket, schedule, keys = issued()
    svg = ticket_svg(ticket.payload, schedule)

    png = bytes(resvg_py.svg_to_bytes(svg_string=svg))

    public, revoked = keys()
    assert verify(decode(png), public, at("JKT-SEL", DAY, "09:00"), revoked).booking_id == ticket.booking_id
    assert "Antrian No. 37" in svg and "08:00-12:00 WIB" in svg


def test_the_schedule_is_told_in_the_office_s_own_time_zone():
    _, schedule, _ = issued(office="JAYAPURA", session="siang")
    assert "Sesi siang: 13:00-16:00 WIT" in schedule.lines()
    assert "Selasa, 1 Desember 2026" in schedule.lines()


def test_the_calendar_file_holds_one_appointment_at_the_session_s_hours():
    ticket, schedule, _ = issued(office="MAKASSAR", session="pagi")

    calendar = icalendar.Calendar.from_ical(ticket_ics(schedule, ticket.created_on))

    (appointment,) = calendar.walk("VEVENT")
    assert appointment.decoded("DTSTART") == at("MAKASSAR", DAY, "08:00")
    assert appointment.decoded("DTEND") == at("MAKASSAR", DAY, "12:00")
    assert str(appointment["UID"]).startswith(str(ticket.booking_id))
    assert "antrian 37" in str(appointment["SUMMARY"])
    assert all(len(line.encode()) <= 75 for line in ticket_ics(schedule, ticket.created_on).split("\r\n"))


def test_images_are_rendered_once_and_then_served_from_the_cache():
    ticket, schedule, _ = issued()
    before = ticket_png.cache_info().hits
    assert ticket_png(ticket.payload, schedule) is ticket_png(ticket.payload, schedule)
    assert ticket_png.cache_info().hits == before + 1


def test_a_scanner_reads_a_photo_of_a_ticket_and_says_when_there_is_none():
    ticket, _, _ = issued()
    assert read_qr(qr_png(ticket.payload)) == ticket.payload
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    with pytest.raises(NoQrCode):
        read_qr(blank.getvalue())
    with pytest.raises(NoQrCode):
        read_qr(b"not an image")

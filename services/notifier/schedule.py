"""A ticket's schedule in words (office, date, session window in the office's time zone, queue
number) and as an RFC 5545 calendar file (.ics)."""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from uuid import UUID

from shared.offices import office_by_code

from .admission import AdmissionPolicy
from .claims import Appointment
from .domain import Ticket

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass(frozen=True)
class Schedule:
    """What a ticket's holder needs to read: where, when, and their number."""

    booking_id: UUID
    office_code: str
    office_name: str
    session: str
    starts: dt.datetime  # in the office's time zone
    ends: dt.datetime
    queue_number: int
    applicants: int

    def lines(self) -> list[str]:
        """The schedule as short lines (Indonesian, the office's local time)."""
        day = self.starts
        return [
            f"Antrian No. {self.queue_number}",
            *textwrap.wrap(self.office_name, 34)[:2],
            f"{DAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}",
            f"Sesi {self.session}: {self.starts:%H:%M}-{self.ends:%H:%M} {self.starts.tzname()}",
            f"Pemohon: {self.applicants} orang",
            f"Kantor: {self.office_code}",
            f"Booking: {self.booking_id.hex[:12]}",
        ]


def schedule_of(ticket: Ticket | Appointment, policy: AdmissionPolicy) -> Schedule:
    """The schedule of a ticket, with its session's hours from configuration."""
    starts, ends = policy.session(ticket.office, ticket.day, ticket.session)
    return Schedule(
        booking_id=ticket.booking_id,
        office_code=ticket.office,
        office_name=office_by_code(ticket.office).name,
        session=ticket.session,
        starts=starts,
        ends=ends,
        queue_number=ticket.queue_number,
        applicants=ticket.applicants,
    )


def ticket_ics(schedule: Schedule, issued_at: dt.datetime) -> str:
    """A calendar file with one event: the appointment, in the office's time zone (as UTC times)."""
    office = office_by_code(schedule.office_code)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Antrian Paspor//Tiket//ID",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{schedule.booking_id}@antrian-paspor",
        f"DTSTAMP:{_utc(issued_at)}",
        f"DTSTART:{_utc(schedule.starts)}",
        f"DTEND:{_utc(schedule.ends)}",
        _text("SUMMARY", f"Paspor: {office.name} (antrian {schedule.queue_number})"),
        _text("LOCATION", f"{office.name}, {office.city}"),
        _text("DESCRIPTION", "\n".join(schedule.lines()) + "\nBawa tiket QR dan dokumen asli."),
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT1H",
        _text("DESCRIPTION", "Jadwal paspor"),
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _text(name: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    return f"{name}:{escaped}"


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    data = line.encode()
    parts: list[bytes] = []
    while len(data) > 75:
        cut = 75 if not parts else 74
        while cut and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
    parts.append(data)
    return "\r\n ".join(p.decode() for p in parts)

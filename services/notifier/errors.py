"""Named refusals of a check-in, each with a stable code and a message in Indonesian and English."""

from __future__ import annotations

from uuid import UUID

from .signing import TicketInvalid


class CheckInRefused(Exception):
    """A check-in was refused; nothing was changed."""

    code = "checkin_refused"
    message_id = "Check-in ditolak."
    message_en = "Check-in refused."

    def __init__(self, **details: object) -> None:
        self.details = details
        super().__init__(self.english())

    def english(self) -> str:
        return self.message_en.format(**self.details) if self.details else self.message_en

    def indonesian(self) -> str:
        return self.message_id.format(**self.details) if self.details else self.message_id


class AlreadyCheckedIn(CheckInRefused):
    """The ticket was scanned before: its holder is already checked in."""

    code = "already_checked_in"
    message_id = "Sudah check-in pukul {time} oleh {officer}."
    message_en = "Already checked in at {time} by {officer}."

    def __init__(self, time: str, officer: str, booking_id: UUID) -> None:
        super().__init__(time=time, officer=officer, booking_id=booking_id)
        self.booking_id = booking_id


class BookingWasCancelled(CheckInRefused):
    """The booking was cancelled; its ticket no longer admits anyone."""

    code = "booking_cancelled"
    message_id = "Pendaftaran ini sudah dibatalkan; tiketnya tidak berlaku."
    message_en = "This booking was cancelled; its ticket is void."


class MarkedNoShow(CheckInRefused):
    """The session ended without a check-in; the booking was recorded as a no-show."""

    code = "no_show"
    message_id = "Sesi sudah berakhir dan pendaftaran ini tercatat tidak hadir."
    message_en = "The session is over and this booking was recorded as a no-show."


class TicketUnknown(CheckInRefused):
    """A genuine signature, but this notifier never issued a ticket for that booking."""

    code = "ticket_unknown"
    message_id = "Tiket ini tidak dikenal oleh sistem."
    message_en = "The system has no record of this ticket."


# Why a ticket itself is refused (TicketInvalid.reason), in both languages.
INVALID = {
    "malformed": ("Bukan tiket Antrian Paspor, atau terpotong.", "Not an Antrian Paspor ticket, or truncated."),
    "unknown_key": ("Tiket ditandatangani dengan kunci yang tidak dikenal.", "Signed with an unknown key."),
    "revoked_key": ("Tiket ditandatangani dengan kunci yang sudah dicabut.", "Signed with a revoked key."),
    "bad_signature": ("Tanda tangan tidak cocok: tiket palsu atau diubah.", "Bad signature: forged or altered."),
    "expired": ("Tiket sudah kedaluwarsa.", "The ticket has expired."),
    "wrong_office": ("Tiket ini untuk kantor lain.", "The ticket is for another office."),
    "wrong_day": ("Tiket ini bukan untuk hari ini.", "The ticket is not for today."),
    "wrong_session": ("Di luar waktu sesi tiket ini.", "Outside this ticket's session window."),
}


class TicketNotAccepted(CheckInRefused):
    """The ticket itself does not verify or does not admit here and now (see INVALID)."""

    def __init__(self, invalid: TicketInvalid) -> None:
        self.code = invalid.reason
        indonesian, english = INVALID.get(invalid.reason, ("Tiket tidak valid.", "Invalid ticket."))
        self.message_id = f"{indonesian} ({invalid.detail})"
        self.message_en = f"{english} ({invalid.detail})"
        super().__init__()

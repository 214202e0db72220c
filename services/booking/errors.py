"""Named refusals of the booking rules, each with a stable code and a bilingual message."""

from __future__ import annotations

import datetime as dt


class BookingError(Exception):
    """A booking rule refused the request; nothing was changed."""

    code = "booking_refused"
    message_id = "Permintaan ditolak."
    message_en = "The request was refused."

    def __init__(self, retry_after: dt.datetime | None = None, **details: object) -> None:
        self.retry_after = retry_after
        self.details = details
        super().__init__(self.english())

    def english(self) -> str:
        return self.message_en.format(**self.details, retry_after=_when(self.retry_after))

    def indonesian(self) -> str:
        return self.message_id.format(**self.details, retry_after=_when(self.retry_after))


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


class ActiveBookingExists(BookingError):
    """The account already has an upcoming booking."""

    code = "active_booking_exists"
    message_id = "Akun ini sudah memiliki jadwal yang akan datang; batalkan dulu atau tunggu sampai selesai."
    message_en = "This account already has an upcoming booking; cancel it or wait until it is over."


class RegistrationLimitReached(BookingError):
    """The account used all its registrations."""

    code = "registration_limit_reached"
    message_id = "Akun ini sudah mencapai batas {limit} kali pendaftaran; akun ini tidak dapat mendaftar lagi."
    message_en = "This account has reached its limit of {limit} registrations; it cannot register again."


class SpacingNotElapsed(BookingError):
    """Too soon after the account's previous registration."""

    code = "spacing_not_elapsed"
    message_id = "Pendaftaran berikutnya baru bisa setelah {retry_after}."
    message_en = "The next registration is possible after {retry_after}."


class CooldownActive(BookingError):
    """Too soon after a cancellation."""

    code = "cooldown_active"
    message_id = "Setelah pembatalan, pendaftaran baru bisa setelah {retry_after}."
    message_en = "After a cancellation, you may register again after {retry_after}."


class NikAlreadyBooked(BookingError):
    """A NIK already appears in another upcoming booking."""

    code = "nik_already_booked"
    message_id = "NIK {nik} sudah terdaftar pada jadwal lain yang akan datang; coba lagi setelah jadwal itu selesai atau dibatalkan."
    message_en = "NIK {nik} is already in another upcoming booking; try again once that booking is over or cancelled."


class UnknownOfficeCode(BookingError):
    """No such office."""

    code = "unknown_office"
    message_id = "Kantor imigrasi {office} tidak dikenal."
    message_en = "Unknown immigration office {office}."


class BookingNotFound(BookingError):
    """No such booking (or not the caller's)."""

    code = "booking_not_found"
    message_id = "Jadwal tidak ditemukan."
    message_en = "Booking not found."


class AccountRequired(BookingError):
    """A citizen's query without the account and device it is for (staff queries name their role instead)."""

    code = "account_required"
    message_id = (
        "Permintaan tanpa akun: hanya petugas (peran officer atau operator) yang boleh melihat jadwal siapa pun."
    )
    message_en = (
        "A query without an account and its device: only staff (role officer or operator) may read anyone's booking."
    )


class NotCancellable(BookingError):
    """The booking is past the point where it can be cancelled."""

    code = "not_cancellable"
    message_id = "Jadwal berstatus {status} tidak dapat dibatalkan."
    message_en = "A booking that is {status} cannot be cancelled."


class ConcurrentRequest(BookingError):
    """Another request of the same account won the race."""

    code = "concurrent_request"
    message_id = "Permintaan lain untuk akun atau NIK ini sedang diproses; coba lagi sebentar lagi."
    message_en = "Another request for this account or NIK is being processed; try again in a moment."


class DatePast(BookingError):
    """The date asked for is already past in the office's time zone."""

    code = "date_past"
    message_id = "Tanggal {day} sudah lewat; pilih tanggal lain."
    message_en = "The date {day} is past; choose another date."


class OfficeClosed(BookingError):
    """The office is closed on that date (weekend or national holiday)."""

    code = "office_closed"
    message_id = "Kantor imigrasi tutup pada {day} ({why_id}); pilih hari kerja lain."
    message_en = "The immigration office is closed on {day} ({why_en}); choose another working day."


class NotYetReleased(BookingError):
    """The date's quota is not released yet."""

    code = "not_released"
    message_id = "Kuota tanggal {day} belum dibuka; coba lagi setelah {retry_after}."
    message_en = "The quota for {day} is not released yet; try again after {retry_after}."


class KkMismatch(BookingError):
    """The booking's family card is not the one in the booker's profile."""

    code = "kk_mismatch"
    message_id = "Semua pemohon harus terdaftar pada KK Anda ({kk}); daftarkan KK lain dari akun anggota keluarga itu."
    message_en = (
        "All applicants must be on your family card ({kk}); book another family card from an account of that family."
    )


class ProfileRequired(BookingError):
    """The account has no profile yet (when configuration requires one before booking)."""

    code = "profile_required"
    message_id = "Lengkapi dulu profil Anda (nama, NIK, KK, telepon, e-mail), lalu coba lagi."
    message_en = "Complete your profile (name, NIK, KK, phone, e-mail) first, then try again."

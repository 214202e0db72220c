"""Examples for the OpenAPI document: one success answer per operation, and the problem answer."""

from __future__ import annotations

from typing import Any

BOOKING_ID = "0b7c3a8e-2f44-5d3e-9a55-6f1f5b2c9d10"
SLOT = {"office": "GRESIK", "date": "2026-12-14", "session": "pagi"}
BOOKING = {
    "booking_id": BOOKING_ID,
    "slot": SLOT,
    "status": "confirmed",
    "applicants": 2,
    "queue_number": 37,
    "reason": None,
    "history": [
        {"status": "requested", "at": "2026-11-28T03:00:00.120Z", "detail": ""},
        {"status": "confirmed", "at": "2026-11-28T03:00:00.180Z", "detail": "37"},
    ],
    "starts_at": "2026-12-14T08:00:00+07:00",
    "ends_at": "2026-12-14T12:00:00+07:00",
    "timezone": "Asia/Jakarta",
    "payment": {
        "billing_code": "820514372960110",
        "amount": 700000,
        "currency": "IDR",
        "deadline": "2026-11-28T05:00:00.180Z",
        "status": "unpaid",
        "paid_at": None,
    },
}
WAITING_HISTORY = [
    {"status": "requested", "at": "2026-11-28T03:00:00.120Z", "detail": ""},
    {"status": "waitlisted", "at": "2026-11-28T03:00:00.190Z", "detail": ""},
]
OFFICE = {
    "code": "GRESIK",
    "name": "Kantor Imigrasi Kelas II TPI Gresik",
    "city": "Gresik",
    "province": "Jawa Timur",
    "timezone": "Asia/Jakarta",
    "latitude": -7.16,
    "longitude": 112.65,
    "capacity_per_session": 100,
    "distance_km": 25.9,
}
SESSION = {
    "date": "2026-12-14",
    "session": "pagi",
    "capacity": 100,
    "booked": 63,
    "remaining": 37,
    "open": True,
    "reason": None,
}
TICKET = {
    "booking_id": BOOKING_ID,
    "slot": SLOT,
    "queue_number": 37,
    "payload": "PSP1.eyJiIjoi...Q",
    "key_id": "k1",
    "expires_at": "2026-12-15T00:00:00Z",
    "revoked": False,
}
APPLICANT = {
    "name": "Siti Aminah",
    "nik": "3525015705900001",
    "birth_date": "1990-05-17",
    "service": "new",
    "passport_type": "regular",
}
TOPIC = {
    "topic": "fees",
    "language": "en",
    "title": "Fees (Government Regulation 28/2019)",
    "items": ["Regular passport, 48 pages: Rp350,000."],
}
PROFILE = {
    "full_name": "Siti Aminah",
    "nik": "3525015705900001",
    "kk_number": "3525010101200001",
    "phone": "+6281234567890",
    "email": "siti@example.com",
    "birth_date": "1990-05-17",
}
TERMS = {
    "current_version": "2026-01",
    "accepted_version": "2026-01",
    "accepted_at": "2026-11-28T03:00:00Z",
    "accepted": True,
}
REGISTRATIONS = {
    "used": 1,
    "limit": 5,
    "left": 4,
    "next_allowed_at": "2026-12-28T03:00:00Z",
    "cooldown_until": None,
    "active_booking_id": BOOKING_ID,
}
CAPACITY = {
    "sessions": [
        {"date": "2026-12-14", "session": "pagi", "capacity": 120, "booked": 63, "remaining": 57, "closed": False}
    ]
}

ANSWERS: dict[str, Any] = {  # "METHOD /path" -> example of the success answer
    "GET /health": {"status": "ok"},
    "GET /ready": {"ready": True},
    "GET /asyncapi.json": {"asyncapi": "3.0.0", "info": {"title": "Antrian Paspor events and commands"}},
    "POST /v1/dev/token": {
        "access_token": "eyJhbGciOiJFZERTQSJ9...",
        "token_type": "bearer",
        "warning": "development issuer: never enable in production",
    },
    "GET /v1/offices": [OFFICE],
    "GET /v1/offices/{code}": {k: v for k, v in OFFICE.items() if k != "distance_km"},
    "GET /v1/offices/{code}/calendar": {"office": "GRESIK", "sessions": [SESSION]},
    "GET /v1/free-slots": [{"office": OFFICE, "session": SESSION}],
    "POST /v1/bookings": BOOKING,
    "GET /v1/bookings": [BOOKING],
    "GET /v1/bookings/{booking_id}": BOOKING,
    "POST /v1/bookings/{booking_id}/cancel": BOOKING | {"status": "cancelled", "reason": "cancelled by the owner"},
    "POST /v1/bookings/{booking_id}/reschedule": BOOKING,
    "POST /v1/waitlist": BOOKING | {"status": "waitlisted", "queue_number": None, "history": WAITING_HISTORY},
    "POST /v1/bookings/{booking_id}/accept": BOOKING,
    "GET /v1/bookings/{booking_id}/ticket": TICKET,
    "POST /v1/payments/callback": {
        "reference": "BNI-20261128-000123",
        "outcome": "paid",
        "booking_id": BOOKING_ID,
        "duplicate": False,
        "detail": "",
    },
    "GET /v1/bookings/{booking_id}/ticket.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 300">...</svg>',
    "GET /v1/bookings/{booking_id}/ticket.ics": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n"
    "SUMMARY:Passport appointment, queue 37\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "POST /v1/checkin": {
        "booking_id": BOOKING_ID,
        "slot": SLOT,
        "queue_number": 37,
        "applicants": 2,
        "checked_in_at": "2026-12-14T01:05:00Z",
        "officer": "dev:petugas@gresik",
    },
    "GET /v1/offices/{code}/checkins": {
        "office": "GRESIK",
        "date": "2026-12-14",
        "tickets": [
            {
                "booking_id": BOOKING_ID,
                "session": "pagi",
                "queue_number": 37,
                "applicants": 2,
                "status": "checked_in",
                "checked_in_at": "2026-12-14T01:05:00Z",
                "officer": "dev:petugas@gresik",
            }
        ],
    },
    "GET /v1/operator/audit": {
        "audit": {
            "ran_at": "2026-12-14T10:00:00Z",
            "verdict": "ok",
            "events_read": 184220,
            "findings": 0,
            "broken": {},
            "skipped_stores": [],
            "seconds": 3.2,
            "jetstream": False,
        }
    },
    "GET /v1/me": PROFILE,
    "PUT /v1/me": PROFILE,
    "GET /v1/me/terms": TERMS,
    "POST /v1/me/terms": TERMS,
    "GET /v1/me/registrations": REGISTRATIONS,
    "POST /v1/me/device": {
        "device_id": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        "previous_device_id": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        "moved_at": "2026-12-02T03:15:00Z",
        "next_move_at": "2026-12-09T03:15:00Z",
    },
    "PUT /v1/operator/offices/{code}/capacity": CAPACITY,
    "POST /v1/operator/offices/{code}/closures": {
        "sessions": [CAPACITY["sessions"][0] | {"capacity": 100, "remaining": 0, "closed": True}]
    },
    "GET /v1/info": [TOPIC],
    "GET /v1/info/{name}": TOPIC,
    "GET /v1/config": {
        "today": "2026-11-28",
        "now": "2026-11-28T02:00:00Z",
        "dev_issuer": False,
        "providers": [
            {
                "name": "google",
                "label": "Google",
                "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
                "client_id": "1234.apps.googleusercontent.com",
            }
        ],
        "rules": {
            "max_registrations": 5,
            "max_applicants": 5,
            "spacing_days": 30,
            "cooldown_days": 30,
            "window_days": 60,
        },
    },
}
REQUESTS: dict[str, Any] = {  # "METHOD /path" -> example request body
    "POST /v1/dev/token": {"subject": "siti@example.com", "name": "Siti Aminah"},
    "POST /v1/bookings": {
        "office": "GRESIK",
        "date": "2026-12-14",
        "session": "pagi",
        "kk_number": "3525010101200001",
        "applicants": [APPLICANT],
    },
    "PUT /v1/me": PROFILE,
    "POST /v1/checkin": {"payload": "AP1.eyJiIjoi...Q.c2ln"},
    "POST /v1/payments/callback": {
        "reference": "BNI-20261128-000123",
        "billing_code": "820514372960110",
        "amount": 700000,
        "paid_at": "2026-11-28T04:12:09+07:00",
    },
    "POST /v1/me/terms": {"version": "2026-01"},
    "PUT /v1/operator/offices/{code}/capacity": {"date": "2026-12-14", "session": "pagi", "capacity": 120},
    "POST /v1/operator/offices/{code}/closures": {"date": "2026-12-14", "reason": "Power outage / Listrik padam"},
}
PROBLEM = {
    "type": "https://antrian-paspor.example/problems/sold_out",
    "title": "sold out",
    "status": 409,
    "code": "sold_out",
    "detail": "This session is full; choose another date or session.",
    "detail_id": "Sesi ini sudah penuh; pilih tanggal atau sesi lain.",
}

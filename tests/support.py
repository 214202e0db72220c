"""Helpers the stories share: valid identity numbers, bookable dates, signed-in users."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import httpx

from shared.calendar import is_office_day


def nik(
    number: int, province: str = "31", regency: str = "74", birth: dt.date = dt.date(1990, 5, 17), woman: bool = False
) -> str:
    """A distinct NIK per number, with a valid structure: region, birth date (DD+40 for women), serial."""
    district = number // 9999 % 99 + 1
    day = birth.day + (40 if woman else 0)
    return f"{province}{regency}{district:02d}{day:02d}{birth:%m%y}{number % 9999 + 1:04d}"


def kk(serial: int) -> str:
    return f"317401{serial % 10**10:010d}"


def bookable_day(start_in: int = 3) -> dt.date:
    """The first office day at least `start_in` days from now."""
    day = dt.date.today() + dt.timedelta(days=start_in)
    while not is_office_day(day):
        day += dt.timedelta(days=1)
    return day


def booking_body(office: str, day: dt.date, session: str, serial: int, applicants: int = 1) -> dict:
    return {
        "office": office,
        "date": day.isoformat(),
        "session": session,
        "kk_number": kk(serial),
        "applicants": [
            {
                "name": f"Applicant {serial}-{i}",
                "nik": nik(serial * 10 + i),
                "birth_date": "1990-05-17",
                "service": "new",
                "passport_type": "regular",
            }
            for i in range(applicants)
        ],
    }


class Citizen:
    """A signed-in user of the development issuer, with their device."""

    def __init__(self, client: httpx.Client | httpx.AsyncClient, subject: str, token: str):
        self.client, self.subject, self.token = client, subject, token
        self.device = f"device-{uuid.uuid5(uuid.NAMESPACE_URL, subject).hex[:16]}"

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "X-Device-Id": self.device}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers


def sign_in(client: httpx.Client, subject: str) -> Citizen:
    response = client.post("/v1/dev/token", json={"subject": subject})
    response.raise_for_status()
    citizen = Citizen(client, subject, response.json()["access_token"])
    terms = client.get("/v1/me/terms", headers=citizen.headers())
    terms.raise_for_status()  # the terms in force must be accepted before the first booking
    client.post(
        "/v1/me/terms", json={"version": terms.json()["current_version"]}, headers=citizen.headers()
    ).raise_for_status()
    return citizen


def refusal_reason(response: httpx.Response) -> str | None:
    """Why a booking was refused: at once by the gateway (a problem, e.g. from the sold-out fast path)
    or by the pipeline (a rejected booking); None if it was not refused (yet)."""
    body = response.json()
    if response.status_code >= 400:
        return body.get("code")
    return body.get("reason") if body.get("status") == "rejected" else None


def temporary_database(admin_url: str) -> contextlib.AbstractContextManager[str]:
    """The URL of a new, empty database on the admin URL's server; dropped afterwards."""
    from paspor.cluster.pgserver import temporary_database as new_database

    return new_database(admin_url, prefix="paspor_test")

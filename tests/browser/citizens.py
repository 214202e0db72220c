"""Citizens made ready through the API (signed in, terms accepted, profile given), and pages signed in as them."""

from __future__ import annotations

import time
import uuid

import httpx
from support import booking_body, kk, nik


class Citizen:
    """An account made ready through the API (terms accepted, profile given) for a page to use."""

    def __init__(self, api: httpx.Client, serial: int):
        self.api, self.serial = api, serial
        self.device = f"web-{uuid.uuid4()}"
        self.token = api.post("/v1/dev/token", json={"subject": f"refusal-{serial}@example.com"}).json()["access_token"]
        version = self.call("GET", "/v1/me/terms").json()["current_version"]
        self.call("POST", "/v1/me/terms", json={"version": version}).raise_for_status()
        profile = {
            "full_name": "Dewi Sartika",
            "nik": nik(serial * 10),
            "kk_number": kk(serial),
            "phone": "0812-3456-7890",
            "email": f"refusal-{serial}@example.com",
            "birth_date": "1990-05-17",
        }
        answer = self.call("PUT", "/v1/me", json=profile)
        assert answer.status_code == 200, answer.text

    def call(self, method: str, path: str, key: str | None = None, **options) -> httpx.Response:
        """A call of this account's, waiting out its (low) rate limit when it is reached."""
        while True:
            answer = self.api.request(method, path, headers=self.headers(key), **options)
            if answer.status_code != 429:
                return answer
            time.sleep(float(answer.headers["Retry-After"]))

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Device-Id": self.device} | (
            {"Idempotency-Key": key} if key else {}
        )

    def book(self, office: str, day, session: str = "pagi") -> dict:
        body = booking_body(office, day, session, self.serial)
        response = self.call("POST", "/v1/bookings", f"key-{uuid.uuid4()}", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def page(self, open_page, base_url: str, viewport: str = "phone", language: str = "id"):
        """A page signed in as this citizen, on this citizen's device, in this language."""
        page = open_page(base_url, viewport)
        page.add_init_script(
            f"localStorage.setItem('paspor.citizen.token', {self.token!r});"
            f"localStorage.setItem('paspor.device', {self.device!r});"
            f"localStorage.setItem('paspor.lang', {language!r});"
        )
        return page


def operator_headers(api: httpx.Client) -> dict[str, str]:
    token = api.post("/v1/dev/token", json={"subject": "ops@example.com", "role": "operator"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}

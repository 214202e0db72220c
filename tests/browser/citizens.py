"""Citizens made ready through the API (signed in, terms accepted, profile given), and pages signed in as them."""

from __future__ import annotations

import time
import uuid

import httpx
from support import booking_body, device_key, kk, nik, signing

# What the citizen app keeps in IndexedDB (services/gateway/web/assets/api.js): the device's key pair, its
# private half not extractable. A test puts there the very key its API calls signed with, before the app runs.
INSTALL_KEY = """async (jwk) => {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const privateKey = await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign']);
  const { d, ...half } = jwk;
  const publicKey = await crypto.subtle.importKey('jwk', half, algorithm, true, ['verify']);
  await new Promise((resolve, reject) => {
    const opening = indexedDB.open('paspor-device', 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore('keys');
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const tx = opening.result.transaction('keys', 'readwrite');
      tx.objectStore('keys').put({ privateKey, publicKey }, 'device');
      tx.oncomplete = () => { opening.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  });
}"""


class Citizen:
    """An account made ready through the API (terms accepted, profile given) for a page to use."""

    def __init__(self, api: httpx.Client, serial: int):
        self.api, self.serial = signing(api), serial
        self.key = device_key(f"web-{uuid.uuid4()}")
        self.device = self.key.thumbprint
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
        """A page signed in as this citizen, on this citizen's device (its key in the browser), in this language."""
        page = open_page(base_url, viewport)
        page.add_init_script(
            f"localStorage.setItem('paspor.citizen.token', {self.token!r});"
            f"localStorage.setItem('paspor.lang', {language!r});"
        )
        page.goto("/static/assets/icon.svg")  # the app's origin, before the app itself makes a key of its own
        page.evaluate(INSTALL_KEY, self.key.private_jwk)
        return page


def operator_headers(api: httpx.Client) -> dict[str, str]:
    token = api.post("/v1/dev/token", json={"subject": "ops@example.com", "role": "operator"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}

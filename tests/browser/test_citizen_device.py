"""The citizen app's device is a key it made: not extractable, kept across reloads, proving every call.

The browser makes an ECDSA P-256 key pair with WebCrypto the first time, keeps it in IndexedDB, and signs
a DPoP proof for each call; the gateway knows the device by the key's thumbprint. A copy of the device id
without the key reads nothing, from the same gateway the page uses.
"""

from __future__ import annotations

import httpx
import pytest
from citizens import Citizen
from support import bookable_day

KEPT_PAIR = """async () => {
  const api = await import('/static/assets/api.js');
  const id = await api.deviceId();
  const pair = await new Promise((resolve, reject) => {
    const opening = indexedDB.open('paspor-device', 1);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const get = opening.result.transaction('keys').objectStore('keys').get('device');
      get.onsuccess = () => resolve(get.result);
      get.onerror = () => reject(get.error);
    };
  });
  let exported = 'refused';
  try { await crypto.subtle.exportKey('jwk', pair.privateKey); exported = 'exported'; } catch {}
  return { id, extractable: pair.privateKey.extractable, exported, algorithm: pair.privateKey.algorithm.namedCurve };
}"""


@pytest.fixture(scope="module")
def api(web_system):
    with httpx.Client(base_url=web_system.gateway_url, timeout=30) as client:
        yield client


def test_the_browser_makes_a_key_it_cannot_export_and_keeps_it_across_reloads(web_system, open_page):
    page = open_page(web_system.gateway_url)
    page.goto("/")
    first = page.evaluate(KEPT_PAIR)
    page.reload()
    again = page.evaluate(KEPT_PAIR)
    assert first["extractable"] is False and first["exported"] == "refused" and first["algorithm"] == "P-256"
    assert len(first["id"]) == 43 and again["id"] == first["id"], "the same device after a reload"


def test_every_call_of_a_signed_in_page_carries_a_proof_of_that_key_and_a_copied_id_reads_nothing(
    web_system, api, open_page
):
    citizen = Citizen(api, 880)
    booking = citizen.book("MALANG", bookable_day(start_in=9))
    page = citizen.page(open_page, web_system.gateway_url)
    with page.expect_response(lambda r: r.url.endswith("/v1/bookings") and r.request.method == "GET") as listed:
        page.goto("/#/registrations")  # "my registrations" lists every booking
    assert listed.value.status == 200, "the page's own proof is accepted: the key is the one the account is bound to"
    sent = listed.value.request.headers
    assert sent["dpop"].count(".") == 2 and sent["x-device-id"] == citizen.device
    with page.expect_request(lambda r: r.url.endswith("/ticket.svg")) as image:  # fetched as a blob: signed too
        page.goto(f"/#/ticket/{booking['booking_id']}")
    assert image.value.headers["dpop"].count(".") == 2

    copied = {"Authorization": f"Bearer {citizen.token}", "X-Device-Id": citizen.device}  # no key: no proof
    with httpx.Client(base_url=web_system.gateway_url, timeout=30) as thief:
        for path in ("", "/ticket", "/ticket.svg", "/events"):
            answer = thief.get(f"/v1/bookings/{booking['booking_id']}{path}", headers=copied)
            assert answer.status_code == 401 and answer.json()["code"] == "invalid_device_proof", path

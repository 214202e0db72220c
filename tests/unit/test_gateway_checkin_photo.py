"""A photo of a ticket fits through the gateway's door: the check-in route takes a few MB, every other route 16 KB."""

from __future__ import annotations

import base64
import io

import httpx
import qrcode
from gateway_fakes import bearer, gateway_app
from PIL import Image

from shared.events import Commands


def photo_of_qr(text: str, size: int) -> bytes:
    """A phone camera's photo of a QR code: large, mostly paper around the code."""
    code = qrcode.make(text).get_image().convert("RGB")
    picture = Image.new("RGB", (size, size), "white")
    picture.paste(code, ((size - code.width) // 2, (size - code.height) // 2))
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=0)  # uncompressed: a large body, as a camera's would be
    return out.getvalue()


async def test_an_officer_checks_a_ticket_in_from_a_photo_of_one_megabyte_or_more(tmp_path):
    api, gateway, dev = gateway_app(tmp_path)
    asked = []
    gateway.bus.handlers[Commands.CHECK_IN] = lambda m: asked.append(m.payload) or {"checkin": {"ok": True}}
    photo = photo_of_qr("PASPOR1.ticket-payload", 700)
    assert len(photo) > 1_000_000

    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway") as client:
        officer = bearer(dev, "petugas@imigrasi.go.id", None, role="officer", office="GRESIK")
        response = await client.post("/v1/checkin", headers=officer, json={"image": base64.b64encode(photo).decode()})

    assert response.status_code == 200, response.text
    assert asked == ["PASPOR1.ticket-payload"], "decoded from the photo, off the event loop"


async def test_other_routes_keep_their_small_limit_and_check_in_its_own(tmp_path):
    api, _, dev = gateway_app(tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api), base_url="http://gateway") as client:
        officer = bearer(dev, "petugas@imigrasi.go.id", None, role="officer", office="GRESIK")
        profile = await client.put("/v1/me", headers=bearer(dev), content=b"{" + b" " * 20_000 + b"}")
        huge = await client.post("/v1/checkin", headers=officer, content=b"{" + b" " * 4_200_000 + b"}")
    assert profile.status_code == 413 and profile.json()["code"] == "payload_too_large"
    assert huge.status_code == 413

"""Staff in the browser tests: an officer or operator page signed in through localStorage, and a camera video of a QR code."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image

from services.notifier.render import qr_png


def staff_token(api: httpx.Client, subject: str, role: str, office: str | None = None) -> str:
    body = {"subject": subject, "role": role} | ({"office": office} if office else {})
    return api.post("/v1/dev/token", json=body).json()["access_token"]


def signed_in(page, area: str, token: str, language: str = "id"):
    """The page, signed in to `area` with `token`, in `language`, from its first load."""
    page.add_init_script(
        f"localStorage.setItem('paspor.{area}.token', {token!r}); localStorage.setItem('paspor.lang', {language!r});"
    )
    return page


def qr_video(payload: str, path: Path, frames: int = 10) -> Path:
    """A 640x480 Y4M video (4:2:0, what Chromium's fake camera reads) of a ticket's QR code held still."""
    code = Image.open(io.BytesIO(qr_png(payload, box_size=6))).convert("RGB")
    code.thumbnail((400, 400))
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    planes = y.tobytes() + cb.resize((320, 240)).tobytes() + cr.resize((320, 240)).tobytes()
    with path.open("wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            video.write(b"FRAME\n" + planes)
    return path

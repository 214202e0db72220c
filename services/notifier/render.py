"""QR images of ticket payloads, rendered on demand and cached."""

from __future__ import annotations

import functools
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


@functools.lru_cache(maxsize=4096)
def qr_png(payload: str, box_size: int = 8) -> bytes:
    """A PNG of the payload's QR code (medium error correction, a 4-module quiet zone)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(payload)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()

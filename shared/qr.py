"""Reading a QR code from a photo or screenshot (PNG, JPEG, ...), for check-in and offline verification."""

from __future__ import annotations

import io

__all__ = ["NoQrCode", "read_qr"]


class NoQrCode(ValueError):
    """The image holds no readable QR code (or is not an image)."""


def read_qr(image: bytes) -> str:
    """The text of the first QR code in an image, decoded with zxing-cpp."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (UnidentifiedImageError, OSError) as error:
        raise NoQrCode(f"not a readable image: {error}") from None
    found = zxingcpp.read_barcodes(picture.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    if not found:
        raise NoQrCode("no QR code found in the image")
    return found[0].text

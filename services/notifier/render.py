"""Ticket images: the QR code with the schedule beside it, as PNG or SVG, rendered on demand and cached."""

from __future__ import annotations

import functools
import io
from xml.sax.saxutils import escape

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from .schedule import Schedule

BOX, BORDER = 8, 4  # pixels per module; quiet zone of 4 modules (ISO/IEC 18004)
TEXT_WIDTH, MARGIN = 420, 16
BOLD = ' font-weight="bold"'


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules of a payload (medium error correction), quiet zone included."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=BORDER)
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


@functools.lru_cache(maxsize=4096)
def qr_png(payload: str, box_size: int = BOX) -> bytes:
    """A PNG of the payload's QR code alone."""
    return _png(_qr_image(payload, box_size))


@functools.lru_cache(maxsize=4096)
def ticket_png(payload: str, schedule: Schedule) -> bytes:
    """A PNG of the ticket: the QR code, and the schedule in words beside it."""
    code = _qr_image(payload, BOX)
    image = Image.new("L", (code.width + TEXT_WIDTH, code.height), 255)
    image.paste(code, (0, 0))
    draw = ImageDraw.Draw(image)
    y = MARGIN * 2
    for index, line in enumerate(schedule.lines()):
        font = _font(30 if index == 0 else 20)
        draw.text((code.width, y), line, fill=0, font=font)
        y += 44 if index == 0 else 30
    return _png(image)


@functools.lru_cache(maxsize=4096)
def ticket_svg(payload: str, schedule: Schedule) -> str:
    """An SVG of the ticket: the QR code as one path, and the schedule as text beside it."""
    matrix = qr_matrix(payload)
    size = len(matrix) * BOX
    dark = "".join(
        f"M{x * BOX},{y * BOX}h{BOX}v{BOX}h-{BOX}z" for y, row in enumerate(matrix) for x, on in enumerate(row) if on
    )
    lines = "".join(
        f'<text x="{size}" y="{MARGIN * 3 + (0 if i == 0 else 14 + 30 * i)}" font-size="{30 if i == 0 else 20}"'
        f"{BOLD if i == 0 else ''}>{escape(line)}</text>"
        for i, line in enumerate(schedule.lines())
    )
    width = size + TEXT_WIDTH
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{size}" viewBox="0 0 {width} {size}">'
        f'<rect width="{width}" height="{size}" fill="#fff"/>'
        f'<path d="{dark}" fill="#000" shape-rendering="crispEdges"/>'
        f'<g font-family="DejaVu Sans, Arial, sans-serif" fill="#000">{lines}</g></svg>'
    )


def _qr_image(payload: str, box_size: int) -> Image.Image:
    matrix = qr_matrix(payload)
    image = Image.new("1", (len(matrix), len(matrix)), 1)
    image.putdata([0 if on else 1 for row in matrix for on in row])
    return image.resize((len(matrix) * box_size,) * 2, Image.Resampling.NEAREST).convert("L")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)

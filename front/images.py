"""Progress images drawn with Pillow: the forum-signature badge and the social share card.

Pillow's built-in font has no glyphs for "é" or the no-break space in "1 500,00 $", so the text is
drawn with DejaVu (Debian's fonts-dejavu-core). Without it, the images fall back to the built-in
font with the text folded to ASCII, and a warning says which package to install.
"""

from __future__ import annotations

import io
import logging
import textwrap
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
INK = (27, 31, 36)
MUTED = (74, 85, 96)
ACCENT = (11, 92, 173)
TRACK = (213, 221, 229)
PAPER = (255, 255, 255)
SOFT = (242, 245, 248)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Progress:
    """What an image shows, already formatted in the reader's language."""

    title: str
    headline: str  # "$1,250.00 of $1,500.00"
    percent_text: str  # "83.3%"
    detail: str  # "42 donors · 5 hours funded"
    bar_percent: Decimal  # 0..100


@lru_cache(maxsize=8)
def _font_file(bold: bool) -> Path | None:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    logger.warning(
        "DejaVu font not found in %s: images use Pillow's default font, without accents. "
        "Install Debian's fonts-dejavu-core.",
        ", ".join(str(d) for d in FONT_DIRS),
    )
    return None


def fonts_available() -> bool:
    return _font_file(False) is not None


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> Font:
    path = _font_file(bold)
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size=size)


def _text(value: str) -> str:
    if fonts_available():
        return value
    # The fallback font lacks accents and U+00A0: fold to ASCII rather than draw boxes.
    folded = unicodedata.normalize("NFKD", value.replace("\u00a0", " ").replace("\u202f", " "))
    return folded.encode("ascii", "ignore").decode()


def _bar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], percent: Decimal) -> None:
    x0, y0, x1, y1 = box
    radius = (y1 - y0) // 2
    draw.rounded_rectangle(box, radius=radius, fill=TRACK, outline=(138, 151, 165), width=2)
    filled = x0 + int((x1 - x0) * float(min(max(percent, Decimal(0)), Decimal(100))) / 100)
    if filled - x0 >= 2 * radius:
        draw.rounded_rectangle((x0, y0, filled, y1), radius=radius, fill=ACCENT)
    elif filled > x0:
        draw.ellipse((x0, y0, x0 + 2 * radius, y1), fill=ACCENT)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def badge_png(progress: Progress, *, width: int = 400, height: int = 72) -> bytes:
    """A small badge for forum signatures: title, bar, "$X of $Y · Z%"."""
    image = Image.new("RGB", (width, height), SOFT)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=(138, 151, 165))
    title = _text(progress.title)
    title_font = _font(14, bold=True)
    while draw.textlength(title, font=title_font) > width - 20 and len(title) > 4:
        title = title[:-2].rstrip() + "…" if fonts_available() else title[:-4] + "..."
    draw.text((10, 6), title, font=title_font, fill=INK)
    _bar(draw, (10, 28, width - 10, 44), progress.bar_percent)
    line = f"{progress.headline} · {progress.percent_text}"
    draw.text((10, 49), _text(line if fonts_available() else line.replace("·", "-")),
              font=_font(14), fill=INK)  # fmt: skip
    return _png(image)


def share_png(progress: Progress, *, site: str = "") -> bytes:
    """The 1200×630 card shown when the campaign's link is pasted in a chat or a post."""
    width, height = 1200, 630
    image = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 16), fill=ACCENT)
    y = 70
    for line in textwrap.wrap(_text(progress.title), width=34)[:3]:
        draw.text((70, y), line, font=_font(60, bold=True), fill=INK)
        y += 74
    y = max(y + 30, 330)
    draw.text((70, y), _text(progress.headline), font=_font(48, bold=True), fill=INK)
    percent = _text(progress.percent_text)
    percent_font = _font(48, bold=True)
    draw.text(
        (width - 70 - draw.textlength(percent, font=percent_font), y),
        percent,
        font=percent_font,
        fill=ACCENT,
    )
    _bar(draw, (70, y + 80, width - 70, y + 130), progress.bar_percent)
    draw.text((70, y + 155), _text(progress.detail), font=_font(34), fill=MUTED)
    if site:
        draw.text((70, height - 60), _text(site), font=_font(26), fill=MUTED)
    return _png(image)

"""Line styles and text helpers of the step charts (report/chart.py): colour-and-dash pairs, dashed
polylines, tick values and legend text wrapped so that no name is ever cut.

A style is a (colour, dash) pair. `series_style(i)` gives the i-th pair: colour ``PALETTE[i % 10]`` and dash
``DASHES[(i + i // 10) % 4]``. Two indices i = a + 10p and j = a + 10q (same colour) get dashes
(a + 11p) mod 4 and (a + 11q) mod 4, i.e. a + 3p and a + 3q mod 4, which differ for p ≠ q < 4, so the first
40 pairs are all different; neighbours (same p) differ in colour *and* dash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

from daml_cli.report.scatter import PALETTE

DASHES: dict[str, tuple[int, ...]] = {  # on, off, on, off... lengths in pixels along the line
    "solid": (),
    "dashed": (10, 5),
    "dotted": (2, 4),
    "dash-dot": (10, 4, 2, 4),
}
DASH_NAMES = tuple(DASHES)
DISTINCT_STYLES = len(PALETTE) * len(DASH_NAMES)
BREAK_AFTER = "-_/ .@:="  # legend names wrap after these characters first


@dataclass(frozen=True)
class LineStyle:
    colour: tuple[int, int, int]
    dash: str  # a key of DASHES


def series_style(index: int) -> LineStyle:
    """The index-th colour-and-dash pair (distinct for index < 40, see the module docstring)."""
    return LineStyle(PALETTE[index % len(PALETTE)], DASH_NAMES[(index + index // len(PALETTE)) % len(DASH_NAMES)])


def lighter(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    """`colour` mixed with white: share 0 keeps it, share 1 gives white."""
    return tuple(round(c + (255 - c) * share) for c in colour)  # type: ignore[return-value]


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


def polyline(draw: ImageDraw.ImageDraw, pixels: Sequence[tuple[float, float]], style: LineStyle, width: int = 2) -> None:
    """`pixels` joined by a line in `style`; the dash pattern runs on across the vertices."""
    pattern = DASHES[style.dash]
    if not pattern:
        draw.line(list(pixels), fill=style.colour, width=width, joint="curve")
        return
    part, left = 0, float(pattern[0])  # the pattern entry being drawn and the length it still has
    for (xa, ya), (xb, yb) in zip(pixels, pixels[1:]):
        length = math.hypot(xb - xa, yb - ya)
        done = 0.0
        while done < length - 1e-9:
            run = min(left, length - done)
            if part % 2 == 0:  # an "on" entry
                t0, t1 = done / length, (done + run) / length
                draw.line((xa + (xb - xa) * t0, ya + (yb - ya) * t0, xa + (xb - xa) * t1, ya + (yb - ya) * t1),
                          fill=style.colour, width=width)
            done += run
            left -= run
            if left <= 1e-9:
                part = (part + 1) % len(pattern)
                left = float(pattern[part])


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten in [low, high]; 2× and 5× multiples as well when fewer than three decades show."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    decades = [10.0 ** e for e in range(first, last + 1)]
    inside = [t for t in decades if low * (1 - 1e-9) <= t <= high * (1 + 1e-9)]
    if len(inside) >= 3:
        return inside
    return [t * m for t in decades for m in (1, 2, 5) if low * (1 - 1e-9) <= t * m <= high * (1 + 1e-9)]


def wrap_name(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """`text` in lines no wider than `width` whose concatenation is `text` (nothing dropped, nothing cut):
    breaks go after a character of BREAK_AFTER when one fits, else between any two characters."""
    lines: list[str] = []
    rest = text
    while rest and face.getlength(rest) > width:
        fits = max(1, max((n for n in range(1, len(rest)) if face.getlength(rest[:n]) <= width), default=1))
        soft = [n for n in range(1, fits + 1) if rest[n - 1] in BREAK_AFTER]
        cut = soft[-1] if soft and soft[-1] >= fits // 3 else fits
        lines.append(rest[:cut])
        rest = rest[cut:]
    return [*lines, rest] if rest else lines or [""]

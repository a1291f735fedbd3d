"""Class names written on a map (the t-SNE of `daml visualize`) without two of them overlapping.

Each name is wanted centred on its class's median point, in priority order (largest class first). It is
tried there, then one line higher, then one line lower; the first spot whose ink box (Pillow's text box with
the white outline stroke, plus GAP pixels all round), moved inside the plot if it sticks out, touches no name
already placed, is taken. A name with no free spot is left out: the legend still names every large class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageDraw, ImageFont

STROKE = 3  # the white outline that keeps a name legible over the points
GAP = 2
TEXT_FILL, STROKE_FILL = (0, 0, 0), (255, 255, 255)


@dataclass(frozen=True)
class MapLabel:
    text: str
    x: float  # where draw.text puts the text
    y: float
    box: tuple[float, float, float, float]  # its ink (stroke included): left, top, right, bottom


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] + GAP and b[0] < a[2] + GAP and a[1] < b[3] + GAP and b[1] < a[3] + GAP


def place_labels(
    draw: ImageDraw.ImageDraw, wanted: Sequence[tuple[str, float, float]], face: ImageFont.FreeTypeFont,
    bounds: tuple[float, float, float, float],
) -> list[MapLabel]:
    """The names of `wanted` ((text, centre x, centre y), most important first) that find a free spot inside
    `bounds` (left, top, right, bottom), as the module docstring says."""
    placed: list[MapLabel] = []
    left, top, right, bottom = bounds
    for text, cx, cy in wanted:
        ink = draw.textbbox((0, 0), text, font=face, stroke_width=STROKE)
        width, height = ink[2] - ink[0], ink[3] - ink[1]
        if width > right - left - 2 * GAP or height > bottom - top - 2 * GAP:
            continue
        for shift in (0.0, -(height + GAP), height + GAP):
            x0 = min(max(cx - width / 2, left + GAP), right - GAP - width)  # ink box corner, inside the plot
            y0 = min(max(cy - height / 2 + shift, top + GAP), bottom - GAP - height)
            box = (x0, y0, x0 + width, y0 + height)
            if not any(_overlaps(box, other.box) for other in placed):
                placed.append(MapLabel(text, x0 - ink[0], y0 - ink[1], box))
                break
    return placed


def draw_labels(draw: ImageDraw.ImageDraw, labels: Sequence[MapLabel], face: ImageFont.FreeTypeFont) -> None:
    for label in labels:
        draw.text((label.x, label.y), label.text, fill=TEXT_FILL, font=face, stroke_width=STROKE, stroke_fill=STROKE_FILL)

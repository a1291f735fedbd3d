"""Draw a labelled 2-D map (the t-SNE of `daml visualize`) with Pillow: title, caption, framed plot area,
a qualitative palette cycled with marker shapes, a legend of the largest classes and their names written at
the class centroids where they do not overlap (report/map_labels.py).

Ten qualitative colours (Tableau 10) × six markers give 60 distinguishable styles; beyond that styles repeat,
which the legend says. Pillow's scalable default font is used (``ImageFont.load_default(size=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from daml_cli.report.map_labels import MapLabel, draw_labels, place_labels

PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
MARKERS: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross", "down")
UNLABELLED = PALETTE[0]
LEGEND_CLASSES = 20  # legend rows: the largest classes
CENTROID_LABELS = 12  # class names written at the centroids of the largest classes
TITLE_SIZE, TEXT_SIZE = 20, 13
LEGEND_WIDTH = 230
MARGIN = 18


@dataclass
class ClassMap:
    image: Image.Image
    labels: list[MapLabel]  # the class names written on the map


@dataclass(frozen=True)
class Style:
    colour: tuple[int, int, int]
    marker: str


def class_styles(count: int) -> list[Style]:
    """`count` styles: every colour with the first marker, then every colour with the next marker, ..."""
    return [Style(PALETTE[i % len(PALETTE)], MARKERS[(i // len(PALETTE)) % len(MARKERS)]) for i in range(count)]


def classes_by_size(labels: np.ndarray) -> list[int]:
    """Class labels, largest class first (ties: smaller label first): legend and centroid-label order."""
    classes, counts = np.unique(labels, return_counts=True)
    return [int(c) for c in classes[np.lexsort((classes, -counts))]]


def draw_marker(draw: ImageDraw.ImageDraw, x: float, y: float, radius: float, style: Style) -> None:
    r = radius
    shapes = {
        "circle": lambda: draw.ellipse((x - r, y - r, x + r, y + r), fill=style.colour),
        "square": lambda: draw.rectangle((x - r, y - r, x + r, y + r), fill=style.colour),
        "triangle": lambda: draw.polygon([(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)], fill=style.colour),
        "down": lambda: draw.polygon([(x, y + r + 1), (x - r - 1, y - r), (x + r + 1, y - r)], fill=style.colour),
        "diamond": lambda: draw.polygon([(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill=style.colour),
        "cross": lambda: (draw.line((x - r, y - r, x + r, y + r), fill=style.colour, width=2),
                          draw.line((x - r, y + r, x + r, y - r), fill=style.colour, width=2)),
    }
    shapes[style.marker]()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and draw.textlength(lines[-1] + " " + word, font=font) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def draw_class_map(
    points: np.ndarray,
    labels: np.ndarray | None,
    names: dict[int, str],
    title: str,
    caption: str,
    size: int,
    seed: int = 0,
) -> ClassMap:
    """The map: header (title, caption), a size×size framed plot, and a legend panel on the right; with the
    class names written on it (report/map_labels.py: never two on top of each other)."""
    title_font = ImageFont.load_default(size=TITLE_SIZE)
    font = ImageFont.load_default(size=TEXT_SIZE)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = size + LEGEND_WIDTH + 2 * MARGIN
    caption_lines = _wrap(probe, caption, font, width - 2 * MARGIN)
    header = MARGIN + TITLE_SIZE + 8 + len(caption_lines) * (TEXT_SIZE + 4) + 8
    image = Image.new("RGB", (width, header + size + 2 * MARGIN + TEXT_SIZE), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN), title, fill=(20, 20, 20), font=title_font)
    for row, line in enumerate(caption_lines):
        draw.text((MARGIN, MARGIN + TITLE_SIZE + 8 + row * (TEXT_SIZE + 4)), line, fill=(80, 80, 80), font=font)

    left, top = MARGIN, header
    draw.rectangle((left, top, left + size, top + size), outline=(160, 160, 160))
    draw.text((left + size // 2 - 24, top + size + 4), "t-SNE 1", fill=(110, 110, 110), font=font)
    vertical = Image.new("RGB", (60, TEXT_SIZE + 4), "white")
    ImageDraw.Draw(vertical).text((0, 0), "t-SNE 2", fill=(110, 110, 110), font=font)
    image.paste(vertical.rotate(90, expand=True), (1, top + size // 2 - 30))
    pad = 10
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    pixels = np.empty_like(points, dtype=np.float64)
    pixels[:, 0] = left + pad + (points[:, 0] - low[0]) / span[0] * (size - 2 * pad)
    pixels[:, 1] = top + size - pad - (points[:, 1] - low[1]) / span[1] * (size - 2 * pad)

    if labels is None:
        order, styles = [0], {0: Style(UNLABELLED, "circle")}
        point_styles = [styles[0]] * len(points)
    else:
        order = classes_by_size(labels)
        styles = dict(zip(order, class_styles(len(order))))
        point_styles = [styles[int(label)] for label in labels]
    radius = 3 if len(points) <= 2000 else 2
    for i in np.random.default_rng(seed).permutation(len(pixels)).tolist():
        draw_marker(draw, pixels[i, 0], pixels[i, 1], radius, point_styles[i])

    placed: list[MapLabel] = []
    if labels is not None:
        label_font = ImageFont.load_default(size=TEXT_SIZE + 3)
        wanted = [(names.get(label, str(label)), *np.median(pixels[labels == label], axis=0)) for label in order[:CENTROID_LABELS]]
        placed = place_labels(draw, wanted, label_font, (left, top, left + size, top + size))
        draw_labels(draw, placed, label_font)
        _legend(draw, font, labels, order, styles, names, (left + size + MARGIN, top))
    return ClassMap(image, placed)


def _legend(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, labels: np.ndarray, order: Sequence[int],
    styles: dict[int, Style], names: dict[int, str], corner: tuple[int, int],
) -> None:
    x, y = corner
    shown = order[:LEGEND_CLASSES]
    heading = "classes (largest first)" if len(order) > len(shown) else "classes"
    draw.text((x, y), heading, fill=(20, 20, 20), font=font)
    y += TEXT_SIZE + 8
    for label in shown:
        draw_marker(draw, x + 6, y + TEXT_SIZE / 2 + 1, 4, styles[label])
        count = int((labels == label).sum())
        text = f"{names.get(label, str(label))} ({count})"
        while draw.textlength(text, font=font) > LEGEND_WIDTH - 24 and len(text) > 4:
            text = "…" + text[2:]
        draw.text((x + 16, y), text, fill=(40, 40, 40), font=font)
        y += TEXT_SIZE + 5
    if len(order) > len(shown):
        draw.text((x, y + 4), f"+ {len(order) - len(shown)} smaller classes", fill=(110, 110, 110), font=font)
        if len(order) > len(PALETTE) * len(MARKERS):
            draw.text((x, y + TEXT_SIZE + 9), f"(styles repeat after {len(PALETTE) * len(MARKERS)})",
                      fill=(110, 110, 110), font=font)

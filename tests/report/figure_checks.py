"""Measurements of a drawn chart (report/chart.py Figure) made from its pixels and Pillow's own font metrics,
not from the chart code: texts inside the canvas, blank borders, each legend sample's colour and dash."""

from __future__ import annotations

import itertools

from PIL import Image, ImageFont

WHITE = (255, 255, 255)


def text_right(text: str, x: float, size: int) -> float:
    """Where a text drawn from `x` in Pillow's default font of `size` ends (its advance width)."""
    return x + ImageFont.load_default(size=size).getlength(text)


def assert_texts_inside(figure, border: int = 4) -> None:
    """Every text the figure placed ends at least `border` pixels inside the canvas: none is cut."""
    width, height = figure.image.size
    for placed in figure.texts:
        assert placed.x >= border and text_right(placed.text, placed.x, placed.size) <= width - border, placed
        assert placed.y >= 0 and placed.y + placed.size * 1.3 <= height, placed


def assert_blank_border(image: Image.Image, border: int = 4) -> None:
    """Nothing is drawn in the outer `border` pixels: a text running off the canvas would leave ink there."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    edge = [(x, y) for x in range(width) for y in (*range(border), *range(height - border, height))]
    edge += [(x, y) for y in range(height) for x in (*range(border), *range(width - border, width))]
    assert all(rgb.getpixel(point) == WHITE for point in edge)


def sample_signature(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[tuple[int, int, int], tuple[int, ...]]:
    """(colour, run lengths) of a legend line sample: along its most inked row, the lengths of the alternating
    inked and blank runs from its left end, the first run inked (a solid line gives one run)."""
    rgb = image.convert("RGB")
    left, top, right, bottom = box
    rows = [[rgb.getpixel((x, y)) for x in range(left, right + 1)] for y in range(top - 1, bottom + 2)]
    row = max(rows, key=lambda pixels: sum(p != WHITE for p in pixels))
    colours = {p for p in row if p != WHITE}
    assert len(colours) == 1, colours  # one colour per sample
    inked = [p != WHITE for p in row]
    runs = [len(list(group)) for _, group in itertools.groupby(inked[inked.index(True):])]
    if len(runs) % 2 == 0:  # a trailing blank run is the end of the sample, not the pattern
        runs.pop()
    return colours.pop(), tuple(runs)


def legend_signatures(figure) -> list[tuple[tuple[int, int, int], tuple[int, ...]]]:
    return [sample_signature(figure.image, box) for _, box in figure.samples]

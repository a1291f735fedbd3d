"""Step charts drawn with Pillow: panels stacked on one step axis, each with its own y scale (linear, or
log10 for loss terms that span decades), a legend column whose names wrap instead of being cut, and
optional stages (e.g. DAML's pretrain / gen_warmup / joint) shaded across every panel and named in a
timeline strip under the title.

Used by `report.curves` (a run's curves.png) and `compare.curves` (a study's curves.png). `draw_figure`
returns the image with what it placed (legend lines, line samples, plot boxes) so tests can measure them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from daml_cli.report.chart_style import LineStyle, font, linear_ticks, log_ticks, polyline, wrap_name

TITLE, PANEL_TITLE, TEXT = 20, 16, 14
MARGIN, Y_AXIS, GAP = 16, 66, 18  # GAP: between the plot and the legend column
PLOT_H, LEGEND_MAX, SAMPLE = 220, 300, 36  # SAMPLE: length of a legend's line sample
LINE_H = TEXT + 5
BAND_FILLS = ((236, 236, 236), (255, 236, 214), (222, 236, 252), (228, 246, 228), (246, 228, 246))
BAND_BARS = ((150, 150, 150), (230, 140, 40), (60, 120, 200), (60, 160, 60), (170, 80, 170))
LOG_FLOOR_SPAN = 1e6  # a log panel shows at most six decades below its largest value


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]  # (step, value), in step order
    style: LineStyle


@dataclass
class LegendRow:
    text: str
    style: LineStyle | None = None  # a line sample; None: a heading row
    swatch: tuple[int, int, int] | None = None  # a heading's colour square
    indent: int = 0


@dataclass
class Panel:
    title: str
    series: list[Series]
    log: bool = False  # log10 y axis (falls back to linear when a value is negative)
    legend: list[LegendRow] | None = None  # default: one row per series, named as the series
    y_range: tuple[float, float] | None = None
    empty: str = "no records yet"
    height: int = PLOT_H  # the plot's height at least (a long legend makes it taller)


@dataclass(frozen=True)
class Band:
    start: float
    end: float
    name: str


@dataclass
class Placed:
    text: str
    x: float  # the left end of the text, as given to draw.text
    y: float
    size: int  # of Pillow's default font
    kind: str  # "title", "stage" or "legend"


@dataclass
class Figure:
    image: Image.Image
    texts: list[Placed] = field(default_factory=list)  # titles, stage names and legend lines as drawn
    samples: list[tuple[LineStyle, tuple[int, int, int, int]]] = field(default_factory=list)  # legend line boxes
    plots: list[tuple[int, int, int, int]] = field(default_factory=list)  # plot frames, top to bottom


def _rows(panel: Panel) -> list[LegendRow]:
    return panel.legend if panel.legend is not None else [LegendRow(s.name, s.style) for s in panel.series]


def _legend_lines(rows: Sequence[LegendRow], width: float) -> list[tuple[LegendRow, list[str]]]:
    face = font(TEXT)
    return [(row, wrap_name(row.text, face, width - row.indent - SAMPLE - 8)) for row in rows]


def _legend_width(panels: Sequence[Panel]) -> int:
    face = font(TEXT)
    needed = [row.indent + SAMPLE + 8 + face.getlength(row.text) for p in panels for row in _rows(p)]
    return int(min(LEGEND_MAX, max(needed, default=0) + 2))


class _Scale:
    """Value -> pixel row of one panel. A log panel's floor is its smallest positive value (at most six decades
    below its largest); values under it (zeros) are drawn on the bottom edge, 12% of the height below it."""

    def __init__(self, values: list[float], log: bool, fixed: tuple[float, float] | None, top: int, bottom: int) -> None:
        self.top, self.bottom, self.clamped = top, bottom, False
        positive = [v for v in values if v > 0]
        self.log = log and bool(positive) and min(values) >= 0
        if self.log:
            self.floor = max(min(positive), max(positive) / LOG_FLOOR_SPAN)
            self.clamped = any(v < self.floor for v in values)
            low, high = math.log10(self.floor), math.log10(max(positive))
        else:
            low, high = fixed or (min(values), max(values))
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        pad = 0.0 if fixed and not self.log else (high - low) * 0.05
        below = (high - low) * 0.12 if self.clamped else pad  # room between the smallest tick and the zeros
        self.low, self.high = low - below, high + pad

    def row(self, value: float) -> float:
        if self.log and value < self.floor:
            return self.bottom
        v = math.log10(value) if self.log else value
        return self.bottom - (v - self.low) / (self.high - self.low) * (self.bottom - self.top)

    def ticks(self) -> list[float]:
        if self.log:
            return log_ticks(self.floor if self.clamped else 10 ** self.low, 10 ** self.high)
        return linear_ticks(self.low, self.high, 6)


def _panel_height(panel: Panel, legend_w: int) -> int:
    lines = sum(len(lines) for _, lines in _legend_lines(_rows(panel), legend_w))
    return 28 + max(panel.height, lines * LINE_H + 12) + 46


def draw_figure(
    title: str, panels: Sequence[Panel], width: int, steps: tuple[float, float], bands: Sequence[Band] = (),
) -> Figure:
    """Every panel, full width, on the step axis `steps`; `bands` shaded in each and named under the title."""
    legend_w = _legend_width(panels)
    x0, x1 = MARGIN + Y_AXIS, width - MARGIN - legend_w - GAP
    strip = 2 * LINE_H + 14 if bands else 0
    top = MARGIN + TITLE + 12
    height = top + strip + sum(_panel_height(p, legend_w) for p in panels) + MARGIN
    figure = Figure(Image.new("RGB", (width, height), "white"))
    draw = ImageDraw.Draw(figure.image)
    draw.text((MARGIN, MARGIN), title, fill=(20, 20, 20), font=font(TITLE))
    figure.texts.append(Placed(title, MARGIN, MARGIN, TITLE, "title"))
    first, last = steps
    span = last - first if last > first else 1.0

    def column(step: float) -> float:
        return x0 + (step - first) / span * (x1 - x0)

    if bands:
        _stage_strip(draw, figure, bands, column, top, (x0, x1))
    y = top + strip
    for panel in panels:
        y = _draw_panel(draw, figure, panel, (x0, x1, y), column, (first, last), bands, legend_w)
    return figure


def _stage_strip(draw, figure: Figure, bands: Sequence[Band], column, top: int, xs: tuple[int, int]) -> None:
    """A bar per stage on the step axis, its name above it; a name that would overlap goes one row up."""
    face = font(TEXT)
    bar_y = top + 2 * LINE_H + 2
    ends = [xs[0] - 1e9, xs[0] - 1e9]  # right edge of the last name written in each row (row 1 is nearest the bar)
    for index, band in enumerate(bands):
        left, right = column(band.start), column(band.end)
        draw.rectangle((left, bar_y, max(left + 1, right - 1), bar_y + 6), fill=BAND_BARS[index % len(BAND_BARS)])
        text_w = face.getlength(band.name)
        x = min(max((left + right - text_w) / 2, xs[0]), xs[1] - text_w)
        row = 1 if x >= ends[1] + 8 else 0
        x = max(x, ends[row] + 8)
        ends[row] = x + text_w
        text_y = top + row * LINE_H
        draw.text((x, text_y), band.name, fill=BAND_BARS[index % len(BAND_BARS)], font=face)
        figure.texts.append(Placed(band.name, x, text_y, TEXT, "stage"))


def _draw_panel(draw, figure: Figure, panel: Panel, where: tuple[int, int, int], column, steps, bands, legend_w) -> int:
    """One panel under row `where[2]`; returns the row below it."""
    x0, x1, y = where
    face = font(TEXT)
    draw.text((x0, y + 2), panel.title, fill=(20, 20, 20), font=font(PANEL_TITLE))
    figure.texts.append(Placed(panel.title, x0, y + 2, PANEL_TITLE, "title"))
    legend = _legend_lines(_rows(panel), legend_w)
    y0 = y + 28
    y1 = y0 + max(panel.height, sum(len(lines) for _, lines in legend) * LINE_H + 12)
    figure.plots.append((x0, y0, x1, y1))
    for index, band in enumerate(bands):
        draw.rectangle((max(x0, column(band.start)), y0, min(x1, column(band.end)), y1), fill=BAND_FILLS[index % len(BAND_FILLS)])
    for tick in linear_ticks(*steps):
        x = column(tick)
        draw.line((x, y1, x, y1 + 4), fill=(120, 120, 120))
        draw.text((x, y1 + 6), f"{tick:.0f}", fill=(90, 90, 90), font=face, anchor="mt")
    draw.text(((x0 + x1) / 2, y1 + 24), "step", fill=(90, 90, 90), font=face, anchor="mt")
    values = [v for s in panel.series for _, v in s.points]
    if values:
        scale = _Scale(values, panel.log, panel.y_range, y0, y1)
        for tick in scale.ticks():
            row = scale.row(tick)
            draw.line((x0 - 4, row, x0, row), fill=(120, 120, 120))
            draw.line((x0 + 1, row, x1 - 1, row), fill=(222, 222, 222))
            draw.text((x0 - 6, row), f"{tick:.3g}", fill=(90, 90, 90), font=face, anchor="rm")
        if scale.clamped:  # the bottom edge is where the zeros are: say so on the axis and above the panel
            draw.text((x0 - 6, y1), "0", fill=(90, 90, 90), font=face, anchor="rm")
            note = f"values below {scale.floor:.2g} (e.g. 0) drawn on the bottom edge"
            note_x = x1 - font(TEXT - 1).getlength(note)
            draw.text((note_x, y + 6), note, fill=(110, 110, 110), font=font(TEXT - 1))
            figure.texts.append(Placed(note, note_x, y + 6, TEXT - 1, "title"))
        for band in bands[1:]:
            polyline(draw, [(column(band.start), y0), (column(band.start), y1)], LineStyle((150, 150, 150), "dashed"), 1)
        for series in panel.series:
            pixels = [(column(s), scale.row(v)) for s, v in series.points]
            if len(pixels) > 1:
                polyline(draw, pixels, series.style)
            for px, py in pixels if len(pixels) <= 40 else pixels[-1:]:
                draw.ellipse((px - 2.5, py - 2.5, px + 2.5, py + 2.5), fill=series.style.colour)
    else:
        draw.text((x0 + 12, y0 + 12), panel.empty, fill=(120, 120, 120), font=face)
    draw.rectangle((x0, y0, x1, y1), outline=(150, 150, 150))
    _draw_legend(draw, figure, legend, x1 + GAP, y0 + 4)
    return y1 + 46


def _draw_legend(draw, figure: Figure, legend: list[tuple[LegendRow, list[str]]], left: float, top: float) -> None:
    face = font(TEXT)
    y = top
    for row, lines in legend:
        x = left + row.indent
        if row.style is not None:
            box = (int(x), int(y + LINE_H // 2 - 2), int(x + SAMPLE), int(y + LINE_H // 2 + 1))
            polyline(draw, [(box[0], box[1] + 1.5), (box[2], box[1] + 1.5)], row.style, 3)
            figure.samples.append((row.style, box))
        elif row.swatch is not None:
            draw.rectangle((x + SAMPLE - 12, y + 3, x + SAMPLE - 2, y + 13), fill=row.swatch)
        for line in lines:
            draw.text((x + SAMPLE + 8, y), line, fill=(40, 40, 40), font=face)
            figure.texts.append(Placed(line, x + SAMPLE + 8, y, TEXT, "legend"))
            y += LINE_H

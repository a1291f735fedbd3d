"""Line charts against the training step, drawn with Pillow (matplotlib is not a dependency).

`write_curves`: a run's `curves.png`, two panels side by side, each with its own y range, tick labels and a
legend: the numeric fields of the ``train`` records (minus throughput fields) and of the ``val`` records.
`write_line_chart`: one panel of named series, e.g. `daml compare`'s validation curves of every run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from daml_cli.atomic import atomic_path
from daml_cli.report.scatter import PALETTE

NOT_PLOTTED = {"step", "images_per_s", "data_wait", "best"}
PANEL_W, PANEL_H = 620, 340
PAD_L, PAD_R, PAD_T, PAD_B = 64, 150, 40, 40  # the legend sits in the right padding
FONT = 13


def series(records: Sequence[dict[str, Any]], phase: str) -> dict[str, list[tuple[float, float]]]:
    """(step, value) lists of every numeric field of the records of `phase`, in step order."""
    found: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        if record.get("phase") != phase or not isinstance(record.get("step"), (int, float)):
            continue
        for name, value in record.items():
            if name in NOT_PLOTTED or name == "phase" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            found.setdefault(name, []).append((float(record["step"]), float(value)))
    return {name: sorted(points) for name, points in found.items()}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _panel(
    canvas: Image.Image, corner: tuple[int, int], title: str, data: dict[str, list[tuple[float, float]]],
    steps: tuple[float, float], colours: dict[str, tuple[int, int, int]] | None = None,
) -> None:
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT)
    left, top = corner
    x0, y0, x1, y1 = left + PAD_L, top + PAD_T, left + PANEL_W - PAD_R, top + PANEL_H - PAD_B
    draw.text((left + PAD_L, top + 10), title, fill=(20, 20, 20), font=ImageFont.load_default(size=FONT + 3))
    draw.rectangle((x0, y0, x1, y1), outline=(150, 150, 150))
    if not data:
        draw.text((x0 + 12, y0 + 12), "no records yet", fill=(120, 120, 120), font=font)
        return
    values = [v for points in data.values() for _, v in points]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    first, last = steps
    span = last - first if last > first else 1.0

    def at(step: float, value: float) -> tuple[float, float]:
        return x0 + (step - first) / span * (x1 - x0), y1 - (value - low) / (high - low) * (y1 - y0)

    for tick in _ticks(low, high):
        _, y = at(first, tick)
        draw.line((x0 - 4, y, x0, y), fill=(120, 120, 120))
        draw.line((x0 + 1, y, x1 - 1, y), fill=(238, 238, 238))
        draw.text((x0 - 6, y), f"{tick:.3g}", fill=(90, 90, 90), font=font, anchor="rm")
    for tick in _ticks(first, last):
        x, _ = at(tick, low)
        draw.line((x, y1, x, y1 + 4), fill=(120, 120, 120))
        draw.text((x, y1 + 6), f"{tick:.0f}", fill=(90, 90, 90), font=font, anchor="mt")
    draw.text(((x0 + x1) / 2, y1 + 22), "step", fill=(90, 90, 90), font=font, anchor="mt")
    for index, (name, points) in enumerate(data.items()):
        colour = (colours or {}).get(name, PALETTE[index % len(PALETTE)])
        pixels = [at(s, v) for s, v in points]
        if len(pixels) > 1:
            draw.line(pixels, fill=colour, width=2)
        for x, y in pixels if len(pixels) <= 40 else pixels[-1:]:
            draw.ellipse((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=colour)
        legend_y = y0 + 4 + index * (FONT + 6)
        draw.line((x1 + 12, legend_y + 7, x1 + 28, legend_y + 7), fill=colour, width=3)
        draw.text((x1 + 32, legend_y), name, fill=(40, 40, 40), font=font)


def write_curves(records: Sequence[dict[str, Any]], out: Path | str, title: str = "training curves") -> Path:
    """Draw the training and validation panels of `records` (metrics.jsonl objects) into `out` (PNG)."""
    train, val = series(records, "train"), series(records, "val")
    all_steps = [s for data in (train, val) for points in data.values() for s, _ in points] or [0.0]
    steps = (0.0, max(all_steps))
    canvas = Image.new("RGB", (2 * PANEL_W, PANEL_H + 30), "white")
    ImageDraw.Draw(canvas).text((12, 8), title, fill=(20, 20, 20), font=ImageFont.load_default(size=FONT + 5))
    _panel(canvas, (0, 30), "training loss terms", train, steps)
    _panel(canvas, (PANEL_W, 30), "validation metrics", val, steps)
    return _save(canvas, out)


def write_line_chart(
    data: dict[str, list[tuple[float, float]]], out: Path | str, title: str,
    colours: dict[str, tuple[int, int, int]] | None = None,
) -> Path:
    """One panel of named (step, value) series into `out` (PNG); `colours` fixes some series' colours."""
    all_steps = [s for points in data.values() for s, _ in points] or [0.0]
    canvas = Image.new("RGB", (PANEL_W, PANEL_H), "white")
    _panel(canvas, (0, 0), title, data, (0.0, max(all_steps)), colours)
    return _save(canvas, out)


def _save(canvas: Image.Image, out: Path | str) -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format="PNG")
    return out

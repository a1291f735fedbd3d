"""A run's ``curves.png``: what a person compares together, in up to three panels on one step axis
(drawing: report/chart.py).

1. **loss terms** (log10 axis, so J_gen ≈ 90 and a triplet loss ≈ 0.01 are both visible; a zero sits on the
   bottom edge and the panel says so);
2. **fractions and distances** (linear, from 0 to 1 or to the largest distance);
3. **validation metrics** (the ``val`` records).

The grouping rule, generic so that new methods' terms land sensibly: a numeric field of the ``train`` records
(minus ``step``, ``images_per_s``, ``data_wait``) goes to panel 2 when

* its name has a word (the name split at every non-letter) among FRACTION_WORDS and all its values lie in
  [0, 1] (``active_fraction``, ``adv_active``), or
* it is a distance: its name starts with ``syn_to_`` or has a word among DISTANCE_WORDS, and no value is
  negative (``syn_to_anchor``); panel 2's axis then reaches the largest distance;

every other field is loss-like and goes to panel 1 (``j_gen``, ``j_metric``, ``j_recon``, ``ce``, a proxy term…).

Every series of the figure gets its own colour-and-dash pair (chart_style.series_style); a series equal to an
earlier one of its panel at every step is named "NAME (= OTHER)" so a hidden line is accounted for. The
``stage`` field of the train records (DAML: pretrain, gen_warmup, joint) is shaded across the panels: a stage
runs from halfway between its first record and the previous stage's last record (exact to within
``train.log_every / 2`` steps) to the same point before the next stage; a stage with no record is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daml_cli.atomic import atomic_path
from daml_cli.report.chart import Band, Figure, Panel, Series, draw_figure
from daml_cli.report.chart_style import series_style

NOT_PLOTTED = {"step", "images_per_s", "data_wait", "best"}
FRACTION_WORDS = {"fraction", "active", "ratio", "share", "rate"}
DISTANCE_WORDS = {"dist", "distance", "distances"}
WIDTH = 1200


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


def is_fraction(name: str, points: Sequence[tuple[float, float]]) -> bool:
    """The grouping rule of the module docstring: True for panel 2 (fractions and distances)."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    values = [value for _, value in points]
    if words & FRACTION_WORDS and all(0.0 <= v <= 1.0 for v in values):
        return True
    distance = name.lower().startswith("syn_to_") or bool(words & DISTANCE_WORDS)
    return distance and all(v >= 0.0 for v in values)


def stages(records: Sequence[dict[str, Any]]) -> list[Band]:
    """The stages of the train records in step order, with the boundaries of the module docstring."""
    runs: list[list[Any]] = []  # [name, first step, last step]
    for record in sorted((r for r in records if r.get("phase") == "train"), key=lambda r: r.get("step", 0)):
        name, step = record.get("stage"), record.get("step")
        if not isinstance(name, str) or not name or not isinstance(step, (int, float)):
            continue
        if runs and runs[-1][0] == name:
            runs[-1][2] = step
        else:
            runs.append([name, step, step])
    cuts = [(previous[2] + following[1]) / 2 for previous, following in zip(runs, runs[1:])]
    starts, ends = [0.0, *cuts], [*cuts, float(runs[-1][2]) if runs else 0.0]
    return [Band(float(start), float(end), run[0]) for run, start, end in zip(runs, starts, ends)]


def _same_as(name: str, points: list[tuple[float, float]], earlier: dict[str, list[tuple[float, float]]]) -> str:
    for other, theirs in earlier.items():
        if len(theirs) == len(points) > 1 and all(
            a == c and abs(b - d) <= 1e-9 * max(1.0, abs(b)) for (a, b), (c, d) in zip(points, theirs)
        ):
            return f"{name} (= {other})"
    return name


def _series(data: dict[str, list[tuple[float, float]]], first_index: int) -> list[Series]:
    """One Series per field, styles numbered from `first_index`; legend names say which equal an earlier one."""
    made: list[Series] = []
    seen: dict[str, list[tuple[float, float]]] = {}
    for offset, (name, points) in enumerate(data.items()):
        made.append(Series(_same_as(name, points, seen), points, series_style(first_index + offset)))
        seen[name] = points
    return made


def draw_run_curves(records: Sequence[dict[str, Any]], title: str = "training curves") -> Figure:
    """The figure of the module docstring for `records` (metrics.jsonl objects)."""
    train, val = series(records, "train"), series(records, "val")
    losses = {n: p for n, p in train.items() if not is_fraction(n, p)}
    fractions = {n: p for n, p in train.items() if is_fraction(n, p)}
    loss_series = _series(losses, 0)
    fraction_series = _series(fractions, len(loss_series))
    val_series = _series(val, len(loss_series) + len(fraction_series))
    panels = [Panel("loss terms (log scale)", loss_series, log=True, empty="no training records yet")]
    if fraction_series:
        top = max([1.0, *(v for s in fraction_series for _, v in s.points)])
        panels.append(Panel("fractions and distances", fraction_series, y_range=(0.0, top)))
    panels.append(Panel("validation metrics", val_series, empty="no validation yet"))
    all_steps = [s for data in (train, val) for points in data.values() for s, _ in points] or [0.0]
    return draw_figure(title, panels, WIDTH, (0.0, max(all_steps)), stages(records))


def write_curves(records: Sequence[dict[str, Any]], out: Path | str, title: str = "training curves") -> Path:
    """Draw `records` (metrics.jsonl objects) as the figure of the module docstring into `out` (PNG)."""
    return save_png(draw_run_curves(records, title), out)


def save_png(figure: Figure, out: Path | str) -> Path:
    """Write the figure's image to `out` atomically."""
    out = Path(out)
    with atomic_path(out) as tmp:
        figure.image.save(tmp, format="PNG")
    return out

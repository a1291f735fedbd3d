"""curves.png of a study: each run's validation metric against the training step, one line per run
(drawing: report/chart.py).

A preset keeps one colour (PALETTE[i % 10] for the i-th compared name); its seeds are told apart by the dash
(solid, dashed, dotted, dash-dot for the 1st to 4th seed of the study) and, from the 5th seed on, by a lighter
shade as well. The legend is grouped: each preset's name (wrapped, never cut) over one line sample per seed.
The title names the study (its output folder) and the metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daml_cli.report.chart import Figure, LegendRow, Panel, Series, draw_figure
from daml_cli.report.chart_style import DASH_NAMES, LineStyle, lighter
from daml_cli.report.curves import save_png
from daml_cli.report.scatter import PALETTE

WIDTH, PLOT_H = 1100, 420


def seed_style(preset_index: int, seed_index: int) -> LineStyle:
    """The line of the `seed_index`-th seed of the `preset_index`-th preset (see the module docstring)."""
    colour = PALETTE[preset_index % len(PALETTE)]
    shade = min(0.6, 0.3 * (seed_index // len(DASH_NAMES)))
    return LineStyle(lighter(colour, shade), DASH_NAMES[seed_index % len(DASH_NAMES)])


def study_figure(runs: list[dict[str, Any]], names: list[str], study: str) -> Figure:
    """The figure of the module docstring for `runs` (report.json's runs) of the presets `names`."""
    seeds = sorted({int(run["seed"]) for run in runs})
    series: list[Series] = []
    legend: list[LegendRow] = []
    for preset_index, name in enumerate(names):
        mine = sorted((run for run in runs if run["name"] == name and run["curve"]), key=lambda run: int(run["seed"]))
        if not mine:
            continue
        legend.append(LegendRow(name, swatch=PALETTE[preset_index % len(PALETTE)]))
        for run in mine:
            style = seed_style(preset_index, seeds.index(int(run["seed"])))
            points = [(float(step), float(value)) for step, value in run["curve"]]
            series.append(Series(f"{name} seed {run['seed']}", points, style))
            legend.append(LegendRow(f"seed {run['seed']}", style, indent=14))
    metrics = " / ".join(sorted({str(run["select_metric"]) for run in runs})) or "metric"
    title = f"{study}: validation {metrics} during training" if study else f"validation {metrics} during training"
    panel = Panel(f"validation {metrics} (the selection metric) of every run", series, legend=legend,
                  empty="no validation records", height=PLOT_H)
    last = max([step for s in series for step, _ in s.points] or [0.0])
    return draw_figure(title, [panel], WIDTH, (0.0, last))


def draw_curves(runs: list[dict[str, Any]], names: list[str], out: Path) -> None:
    """Write the study's curves.png to `out`; the study is named after the folder holding `out`."""
    study = Path(out).resolve().parent.name
    save_png(study_figure(runs, names, study), out)

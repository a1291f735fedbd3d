"""curves.png: each run's validation metric against the training step, one line per run.

Drawn by `report.curves` (Pillow), like a run's own curves.png: one colour per compared preset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daml_cli.report.curves import write_line_chart
from daml_cli.report.scatter import PALETTE


def draw_curves(runs: list[dict[str, Any]], names: list[str], out: Path) -> None:
    """One line per run, named ``PRESET seed K``, coloured by preset; markers show each validation."""
    data: dict[str, list[tuple[float, float]]] = {}
    colours: dict[str, tuple[int, int, int]] = {}
    for run in runs:
        if run["curve"]:
            label = f"{run['name']} seed {run['seed']}"
            data[label] = [(float(step), float(value)) for step, value in run["curve"]]
            colours[label] = PALETTE[names.index(run["name"]) % len(PALETTE)]
    metrics = " / ".join(sorted({run["select_metric"] for run in runs}))
    write_line_chart(data, out, f"validation {metrics} during training", colours)

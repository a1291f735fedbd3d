"""curves.png: each run's validation metric against the training step, one line per run.

Drawn with matplotlib (the optional extra ``daml-cli[plot]``); without it the comparison still writes its
report and says how to get the plot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daml_cli.atomic import atomic_path

PLOT_HINT = "install the plot extra: pip install 'daml-cli[plot]'"


def plotting_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def draw_curves(runs: list[dict[str, Any]], names: list[str], out: Path) -> None:
    """One colour per compared preset, one line style per seed; markers show each validation."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    seeds = sorted({run["seed"] for run in runs})
    for run in runs:
        if not run["curve"]:
            continue
        steps, values = zip(*run["curve"])
        colour = colours[names.index(run["name"]) % len(colours)]
        style = styles[seeds.index(run["seed"]) % len(styles)]
        axes.plot(steps, values, style, color=colour, marker="o", markersize=4, label=f"{run['name']} seed {run['seed']}")
    metrics = sorted({run["select_metric"] for run in runs})
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("training step")
    axes.set_ylabel(f"validation {' / '.join(metrics)}")
    axes.set_title("Validation metric during training")
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize="small")
    figure.tight_layout()
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)

"""The comparison's report: per-run results, per-preset mean and std, paired differences against the first.

Pure data in, data (or Markdown text) out: ``report.json``'s schema is `build_report`'s return value.
"""

from __future__ import annotations

import shlex
from typing import Any

from daml_cli.compare.stats import paired_difference, summarize

CONFIDENCE = 0.95


def metric_names(runs: list[dict[str, Any]]) -> list[str]:
    """The test metrics every run reports, in the order of the first run (that of `daml evaluate --json`)."""
    names = list(runs[0]["test"])
    return [name for name in names if all(name in run["test"] for run in runs)]


def build_report(
    command: list[str], names: list[str], seeds: list[int], overrides: list[str],
    set_for: dict[str, list[str]], presets: dict[str, str], runs: list[dict[str, Any]],
) -> dict[str, Any]:
    """report.json: the request, every run, and per compared preset its summary and paired differences.

    ``paired[name][metric]`` compares `name` with the first compared preset seed by seed (see
    `stats.paired_difference`); ``ci95`` is null with one seed.
    """
    metrics = metric_names(runs)
    by_key = {(run["name"], run["seed"]): run for run in runs}
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        summary[name] = {}
        for metric in metrics:
            s = summarize([by_key[(name, seed)]["test"][metric] for seed in seeds])
            summary[name][metric] = {"mean": s.mean, "std": s.std, "n": s.n}
    paired: dict[str, dict[str, Any]] = {}
    first = names[0]
    for name in names[1:]:
        paired[name] = {"against": first}
        for metric in metrics:
            d = paired_difference(
                [by_key[(name, seed)]["test"][metric] for seed in seeds],
                [by_key[(first, seed)]["test"][metric] for seed in seeds],
                CONFIDENCE,
            )
            paired[name][metric] = {
                "differences": list(d.differences), "mean": d.mean, "std": d.std, "n": d.n,
                "ci95": [d.low, d.high] if d.low is not None else None,
            }
    return {
        "command": command,
        "presets": [{"name": n, "preset": presets[n], "overrides": set_for.get(n, [])} for n in names],
        "seeds": seeds,
        "overrides": overrides,
        "metrics": metrics,
        "runs": [by_key[(name, seed)] for name in names for seed in seeds],
        "summary": summary,
        "paired": paired,
    }


def _mean_std(cell: dict[str, Any]) -> str:
    return f"{cell['mean']:.4f}" if cell["std"] is None else f"{cell['mean']:.4f} ± {cell['std']:.4f}"


def _difference(cell: dict[str, Any]) -> str:
    if cell["ci95"] is None:
        return f"{cell['mean']:+.4f}"
    low, high = cell["ci95"]
    return f"{cell['mean']:+.4f} [{low:+.4f}, {high:+.4f}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report_markdown(report: dict[str, Any]) -> str:
    """report.md: the same numbers as report.json, as three tables."""
    metrics, seeds = report["metrics"], report["seeds"]
    names = [p["name"] for p in report["presets"]]
    parts = [
        "# daml compare",
        f"`{shlex.join(report['command'])}`",
        f"Test metrics of each run's best.pt; seeds {', '.join(map(str, seeds))}; mean ± sample std over seeds.",
        _table(["preset", *metrics], [[n, *(_mean_std(report["summary"][n][m]) for m in metrics)] for n in names]),
    ]
    if report["paired"]:
        first = names[0]
        parts.append(
            f"Paired difference against {first}, seed by seed: mean [95 % CI, t with n − 1 = {len(seeds) - 1} "
            "degrees of freedom]" + (" (one seed: no interval)." if len(seeds) == 1 else ".")
        )
        parts.append(_table(
            ["preset − " + first, *metrics],
            [[n, *(_difference(report["paired"][n][m]) for m in metrics)] for n in names[1:]],
        ))
    parts.append("Runs:")
    parts.append(_table(
        ["preset", "seed", "steps", "best step", "wall s", "status", *metrics],
        [[r["name"], str(r["seed"]), str(r["steps"]), str(r["best_step"]), f"{r['wall_s']:.1f}", r.get("status", ""),
          *(f"{r['test'][m]:.4f}" for m in metrics)] for r in report["runs"]],
    ))
    return "\n\n".join(parts) + "\n"

"""The tables of docs/results/family.md from a study step's report.json (and its run folders, when present).

    python summarize.py a-triplet a-ms          # markdown on stdout
    python summarize.py --trials a-trials       # the validation trials and what each scored

Per family (one report, whose first contender is the base loss without synthesis): each contender's test
Recall@1 and MAP@R (mean ± std over seeds) and its paired difference from the base in points, with the 95 %
t interval `daml compare` computed; then, from each run's metrics.jsonl where the run folder exists, the mean
over the last quarter of training of the diagnostics that say whether synthetics are hard and keep their label.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

DIAGNOSTICS = {  # logged field -> what it says
    "active_fraction": "real tuples violating the margin",
    "adv_active": "DAML: synthetic tuples violating J_adv's margin",
    "syn_to_anchor": "synthetic-to-anchor / negative-to-anchor distance",
    "syn_closer": "HDML: synthetic negative nearer the anchor than the positive",
    "syn_accuracy": "HDML: classifier accuracy on synthetic features (label kept)",
    "syn_hardest": "EE: anchors whose hardest negative is synthetic",
    "syn_cos_source": "EE: cosine of a synthetic point to its source",
}


def points(value: float) -> str:
    return f"{100 * value:+.1f}"


def family_table(out: Path) -> list[str]:
    report = json.loads((out / "report.json").read_text())
    names = [entry["name"] for entry in report["presets"]]
    base = names[0]
    lines = [f"`{out.name}` (reference: `{base}`)", "",
             "| contender | R@1 | MAP@R | ΔR@1 [95 % CI] | ΔMAP@R [95 % CI] |", "|---|---|---|---|---|"]
    for name in names:
        summary = report["summary"][name]
        cells = [f"{100 * summary[m]['mean']:.1f} ± {100 * summary[m]['std']:.1f}" for m in ("recall@1", "map@r")]
        paired = report["paired"].get(name)
        for metric in ("recall@1", "map@r"):
            if paired is None:
                cells.append("—")
            else:
                low, high = paired[metric]["ci95"]
                cells.append(f"{points(paired[metric]['mean'])} [{points(low)}, {points(high)}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def diagnostics_table(out: Path) -> list[str]:
    rows = []
    for run_dir in sorted((out / "runs").glob("*/seed*")):
        log = run_dir / "metrics.jsonl"
        if not log.is_file():
            continue
        records = [json.loads(line) for line in log.read_text().splitlines()]
        train = [r for r in records if r.get("phase") == "train"]
        last = train[len(train) * 3 // 4:]
        rows.append((run_dir.parent.name, {key: statistics.mean(r[key] for r in last) for key in DIAGNOSTICS
                                           if last and all(key in r for r in last)}))
    if not rows:
        return []
    names = sorted({name for name, _ in rows})
    keys = [key for key in DIAGNOSTICS if any(key in values for _, values in rows)]
    lines = [f"Diagnostics of `{out.name}` (mean over seeds of each run's last quarter of logged steps):", "",
             "| contender | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name in names:
        cells = []
        for key in keys:
            values = [v[key] for n, v in rows if n == name and key in v]
            cells.append(f"{statistics.mean(values):.3f}" if values else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "; ".join(f"`{key}`: {text}" for key, text in DIAGNOSTICS.items() if key in keys), ""]
    return lines


def trials_table(out: Path) -> list[str]:
    """Every seed-0 trial's best validation value (the only number the choice looked at)."""
    report = json.loads((out / "report.json").read_text())
    lines = [f"Validation trials (`{out.name}`, seed 0; best validation MAP@R over the run):", "",
             "| trial | preset | overrides | best validation MAP@R |", "|---|---|---|---|"]
    presets = {entry["name"]: entry for entry in report["presets"]}
    for run in report["runs"]:
        extra = ", ".join(o for o in presets[run["name"]]["overrides"]) or "—"
        lines.append(f"| {run['name']} | {run['preset']} | {extra} | {max(v for _, v in run['curve']):.4f} |")
    return lines + [""]


if __name__ == "__main__":
    if sys.argv[1] == "--trials":
        print("\n".join(trials_table(Path(sys.argv[2]))))
        sys.exit()
    for folder in sys.argv[1:]:
        print("\n".join(family_table(Path(folder)) + diagnostics_table(Path(folder))))

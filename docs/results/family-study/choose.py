"""Pick each variant's trial by validation alone and print the `daml compare` contenders for the 5-seed runs.

    python choose.py TRIALS_DIR GROUP...      GROUP = label:trial,trial,...  (the first trial of the first group
                                              becomes the first contender, the reference of the paired differences)

Reads TRIALS_DIR/report.json (seed-0 trials), takes for every group the trial with the highest best validation
value of the runs' `select_metric` (MAP@R on the validation characters; ties go to the earlier trial), and
prints `TRIAL=PRESET` plus its `--set-for TRIAL:key=value` overrides, one argument per line, for `xargs`.
A group whose trials are all missing from the report is left out, with a note on stderr. Also writes
TRIALS_DIR/choices.json: every trial's best validation value and the choice per group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def best_validation(run: dict) -> float:
    return max(value for _, value in run["curve"]) if run.get("curve") else float("-inf")


def main(trials_dir: str, *groups: str) -> None:
    report = json.loads((Path(trials_dir) / "report.json").read_text())
    runs = {run["name"]: run for run in report["runs"] if run["seed"] == 0}
    presets = {entry["name"]: entry for entry in report["presets"]}
    choices, args = {}, []
    for group in groups:
        label, trials = group.split(":", 1)
        scored = [(best_validation(runs[name]), -index, name) for index, name in enumerate(trials.split(",")) if name in runs]
        if not scored:
            print(f"choose: no trial of {label} in {trials_dir}/report.json; left out", file=sys.stderr)
            continue
        _, _, chosen = max(scored)
        choices[label] = {"chosen": chosen, "trials": {name: value for value, _, name in scored}}
        # The contender keeps its trial's name, so `daml compare` reuses the seed-0 run from the trials' report.
        args.append(f"{chosen}={presets[chosen]['preset']}")
        args += [part for override in presets[chosen]["overrides"] for part in ("--set-for", f"{chosen}:{override}")]
    (Path(trials_dir) / "choices.json").write_text(json.dumps(choices, indent=1) + "\n")
    print("\n".join(args))


if __name__ == "__main__":
    main(*sys.argv[1:])

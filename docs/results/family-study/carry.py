"""Copy finished runs from one `daml compare` report into another, so that the second study reuses them.

    python carry.py FROM_DIR TO_DIR [--seed N]

Adds every run of FROM_DIR/report.json (only those of seed N when given) whose (name, seed) TO_DIR/report.json
does not hold yet; creates TO_DIR/report.json (runs only) when it is absent. `daml compare` then reuses a carried
run only if its configuration is the one it would train (it checks, and refuses otherwise), so carrying is safe.
Used by study.sh: the chosen trial's seed-0 run goes into its 5-seed study, Proxy-Anchor's runs into the MS one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(source: str, target: str, *options: str) -> None:
    seed = int(options[1]) if options[:1] == ("--seed",) else None
    runs = json.loads((Path(source) / "report.json").read_text())["runs"]
    path = Path(target) / "report.json"
    report = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    held = {(run["name"], int(run["seed"])) for run in report["runs"]}
    added = [run for run in runs if (seed is None or int(run["seed"]) == seed) and (run["name"], int(run["seed"])) not in held]
    report["runs"] += added
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=1) + "\n")
    temporary.replace(path)
    print(f"carry: {len(added)} run(s) from {source} into {target}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])

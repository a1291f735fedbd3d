"""How long `daml --help` takes, and which heavy libraries it imports (none should be: torch, FAISS).

Each round runs a fresh interpreter that times, inside itself, the import of every command module plus
rendering the help (``inside``), and is itself timed from the outside, spawn and interpreter start-up
included (``process``). The help has no bound to meet here (tests assert only that it imports neither torch
nor FAISS); this script is where the figure lives. Numbers from a busy machine are slow: the 1-minute load
average is printed with them.

    python bench/cli_startup_bench.py               # 10 rounds
    python bench/cli_startup_bench.py --rounds 30 --json /tmp/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "faiss", "numpy")
PROBE = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "from daml_cli.cli.main import main\n"
    "try:\n"
    "    main(['--help'])\n"
    "except SystemExit:\n"
    "    pass\n"
    "seconds = time.perf_counter() - t\n"
    f"print('SECONDS', seconds, *[name in sys.modules for name in {HEAVY!r}])\n"
)


def one_round() -> tuple[float, float, dict[str, bool]]:
    """(seconds inside the child, seconds of the whole process, heavy library -> imported?) for one run."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    process = time.perf_counter() - start
    fields = done.stdout.split("SECONDS")[1].split()
    return float(fields[0]), process, {name: flag == "True" for name, flag in zip(HEAVY, fields[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the rounds here")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    one_round()  # warm the file cache: the first run reads every module from disk
    rounds = [one_round() for _ in range(max(1, args.rounds))]
    inside = [r[0] for r in rounds]
    process = [r[1] for r in rounds]
    imported = {name: any(r[2][name] for r in rounds) for name in HEAVY}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}; "
          f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print("| `daml --help` | min s | median s | max s |\n|---|---:|---:|---:|")
    for name, values in (("inside (imports + help)", inside), ("whole process", process)):
        print(f"| {name} | {min(values):.3f} | {statistics.median(values):.3f} | {max(values):.3f} |")
    print("imported: " + ", ".join(f"{name} {'yes' if flag else 'no'}" for name, flag in imported.items()))
    if args.json:
        args.json.write_text(json.dumps({"inside": inside, "process": process, "imported": imported}, indent=1))


if __name__ == "__main__":
    main()

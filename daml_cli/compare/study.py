"""The engine behind `daml compare`: plan the runs, reuse or train them, write the report and the curves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daml_cli.atomic import atomic_write_text
from daml_cli.compare.curves import draw_curves
from daml_cli.compare.jobs import Sink, run_all
from daml_cli.compare.plan import Contender, RunSpec, parse_contenders, plan_runs
from daml_cli.compare.report import build_report, report_markdown
from daml_cli.compare.runs import stored_result
from daml_cli.errors import ConfigError, DataError
from daml_cli.safety.locks import COMPARE_LOCK_NAME, exclusive_lock
from daml_cli.safety.outputs import check_output_file, check_output_folder

REPORT_FILES = ("report.json", "report.md", "curves.png")  # written into --out, in this order


@dataclass
class CompareRequest:
    presets: list[str]  # PRESET or NAME=PRESET
    seeds: list[int]
    out: Path
    overrides: list[str]  # --set, every preset
    set_for: list[str]  # --set-for NAME:key=value
    jobs: int = 1
    extra: dict[str, object] | None = None  # --data-root, --device
    command: list[str] | None = None  # the command line, recorded in report.json


@dataclass
class CompareOutcome:
    report: dict[str, Any]
    counts: dict[str, int]  # runs per status: trained, resumed, reused
    files: list[Path]
    notes: list[str]


def previous_runs(out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """The runs recorded in an earlier DIR/report.json, keyed by (name, seed)."""
    path = out / "report.json"
    if not path.is_file():
        return {}
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
        return {(run["name"], int(run["seed"])): run for run in runs}
    except (ValueError, KeyError, TypeError):
        raise DataError(f"{path} is not a report of `daml compare`", "move it away or choose another --out") from None


def compare(request: CompareRequest, sink: Sink, on_plan: Any = None) -> CompareOutcome:
    """Train every preset for every seed (reusing finished runs), test each, write report.json/.md and curves.png.

    `on_plan(total, reused)` is called once the runs are known, before any training.
    """
    if request.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {request.jobs}")
    check_output_folder(request.out)
    for name in REPORT_FILES:
        check_output_file(request.out / name, "--out")
    contenders = parse_contenders(request.presets, request.set_for)
    specs = plan_runs(contenders, request.seeds, request.overrides, request.out, request.extra)
    with exclusive_lock(request.out / COMPARE_LOCK_NAME, f"comparison folder {request.out}"):
        return _compare_locked(request, sink, on_plan, contenders, specs)


def _compare_locked(
    request: CompareRequest, sink: Sink, on_plan: Any, contenders: list[Contender], specs: list[RunSpec]
) -> CompareOutcome:
    """`compare` once the runs are planned and the folder is locked against a second comparison."""
    previous = previous_runs(request.out)
    records: dict[tuple[str, int], dict[str, Any]] = {}
    to_train: list[RunSpec] = []
    for spec in specs:
        record = stored_result(spec, previous.get((spec.name, spec.seed)))
        if record is None:
            to_train.append(spec)
        else:
            records[(spec.name, spec.seed)] = record
    if on_plan is not None:
        on_plan(len(specs), len(records))

    def done(spec: RunSpec, record: dict[str, Any]) -> None:
        records[(spec.name, spec.seed)] = record
        sink(("run-done", spec.name, spec.seed))

    run_all(to_train, request.jobs, sink, done)
    names = [c.name for c in contenders]
    report = build_report(
        request.command or [], names, request.seeds, request.overrides,
        {c.name: list(c.overrides) for c in contenders}, {c.name: c.preset for c in contenders},
        [records[(s.name, s.seed)] for s in specs],
    )
    files = [request.out / name for name in REPORT_FILES[:2]]
    atomic_write_text(files[0], json.dumps(report, indent=2) + "\n")
    atomic_write_text(files[1], report_markdown(report))
    notes: list[str] = []
    draw_curves(report["runs"], names, request.out / REPORT_FILES[2])
    files.append(request.out / REPORT_FILES[2])
    counts = {status: sum(run["status"] == status for run in report["runs"]) for status in ("trained", "resumed", "reused")}
    return CompareOutcome(report, counts, files, notes)

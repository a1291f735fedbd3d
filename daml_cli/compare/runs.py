"""One run of a comparison: reuse it when finished, resume it when interrupted, else train it; then test it.

A run folder ``DIR/runs/<name>/seed<k>/`` is a `daml train` run folder plus ``result.json`` (written last, once
the test metrics are known). States, checked in this order:

- its ``config.yaml`` differs from the requested configuration -> refused, naming the first differing key;
- ``result.json`` at the requested budget -> reused as it is;
- the previous ``DIR/report.json`` holds the run with the same configuration -> reused from there (the run
  folder, with its checkpoints, need not exist: a committed report.json is enough);
- ``checkpoints/last.pt`` -> resumed from it (or, at the full budget, only tested);
- otherwise -> trained from scratch (leftovers of a run killed before its first checkpoint are removed).

``data.root`` and ``data.workers`` are left out of the comparison of configurations: they change where the
images are read from and how fast, not what is trained.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from daml_cli.atomic import atomic_write_text
from daml_cli.compare.plan import RunSpec
from daml_cli.config.flat import flatten
from daml_cli.config.loading import read_yaml, saved_config
from daml_cli.config.validate import to_dict
from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote
from daml_cli.train.reporting import TrainReporter
from daml_cli.train.run_dir import RunDir

RESULT_FILE = "result.json"
IGNORED_KEYS = frozenset({"data.root", "data.workers"})
INIT_KEYS = frozenset({"train.init", "train.init_sha256"})  # compared by `same_init`
TEST_METRICS = ["recall", "nmi", "f1", "map@r", "r_precision"]


def check_same_config(
    saved: dict[str, Any], spec: RunSpec, source: Path, hint: str = "delete that run folder to redo it"
) -> None:
    """Refuse a stored run whose configuration differs from the requested one, naming the first key."""
    try:
        normalized = to_dict(saved_config(saved))
    except ConfigError as error:
        raise ConfigError(f"{source} holds a configuration this version cannot read: {error.message}") from None
    old, new = flatten(normalized), flatten(to_dict(spec.config))
    for key in sorted(set(old) | set(new)):
        if key in INIT_KEYS:
            continue
        if key not in IGNORED_KEYS and old.get(key) != new.get(key):
            raise ConfigError(
                f"{source} was run with {key}={quote(old.get(key))}, but this comparison asks for {key}={quote(new.get(key))}",
                f"choose another --out, or {hint}",
            )
    if not same_init(old.get("train.init", ""), old.get("train.init_sha256", ""),
                     new.get("train.init", ""), new.get("train.init_sha256", "")):
        raise ConfigError(
            f"{source} was started from {quote(old.get('train.init'))}, but this comparison asks for "
            f"{quote(new.get('train.init'))}", f"choose another --out, or {hint}",
        )


def same_init(recorded: str, recorded_sha256: str, requested: str, requested_sha256: str) -> bool:
    """Whether a stored run started from the weights this comparison asks for (`train.init`).

    Training records the checkpoint it read as an absolute path with its SHA-256, while a comparison names it
    as given (often relative, often with `{seed}` filled in). Same file: equal hashes when both are known (the
    requested file is hashed when it exists here); otherwise the recorded path must end with the requested one,
    which is what a later machine holding only the committed report.json can check.
    """
    if not recorded or not requested:
        return recorded == requested
    if requested_sha256 and recorded_sha256:
        return requested_sha256 == recorded_sha256
    candidate = Path(requested)
    if candidate.is_dir():
        candidate = candidate / "checkpoints" / "best.pt"
    if candidate.is_file() and recorded_sha256:
        from daml_cli.data.checksum import file_sha256

        return file_sha256(candidate) == recorded_sha256
    wanted = Path(requested).parts
    return Path(recorded).parts[-len(wanted):] == wanted


def stored_result(spec: RunSpec, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The finished record of this run (from its folder or the previous report.json), or None to train it."""
    run = RunDir(spec.run_dir)
    if run.config.is_file():
        check_same_config(read_yaml(run.config), spec, run.config)
    result_path = spec.run_dir / RESULT_FILE
    if result_path.is_file() and run.best.is_file():
        record = json.loads(result_path.read_text(encoding="utf-8"))
        check_same_config(record["config"], spec, result_path)
        if record.get("steps") == spec.config.train.iterations:
            return {**record, "status": "reused"}
    if previous is not None:
        report = spec.run_dir.parents[2] / "report.json"
        check_same_config(previous.get("config", {}), spec, report, f"move {report} away to redo its runs")
        return {**previous, "status": "reused"}
    return None


def validation_curve(metrics_log: Path, metric: str) -> tuple[list[list[float]], int | None]:
    """[[step, value], ...] of `metric` at every validation, and the step best.pt holds.

    A resumed run logs the steps after its last checkpoint twice; the later record of a step wins.
    """
    by_step: dict[int, dict[str, Any]] = {}
    if metrics_log.is_file():
        for line in metrics_log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("phase") == "val" and metric in record:
                by_step[int(record["step"])] = record
    curve = [[step, float(by_step[step][metric])] for step in sorted(by_step)]
    best = [step for step in sorted(by_step) if by_step[step].get("best")]
    return curve, (best[-1] if best else None)


def prepare_folder(spec: RunSpec) -> bool:
    """True to resume from last.pt; removes the leftovers of a run that died before its first checkpoint."""
    run = RunDir(spec.run_dir)
    if run.last.is_file():
        return True
    for leftover in (run.config, run.metrics, spec.run_dir / RESULT_FILE):
        leftover.unlink(missing_ok=True)
    return False


def train_and_test(spec: RunSpec, reporter: TrainReporter) -> dict[str, Any]:
    """Train (or resume) the run to its budget, test best.pt on the test split, write result.json."""
    from daml_cli.inference.evaluation import evaluate_source
    from daml_cli.models.checkpoint import load_checkpoint
    from daml_cli.train.loop import train

    started = time.perf_counter()
    run = RunDir(spec.run_dir)
    resume = prepare_folder(spec)
    first_step = load_checkpoint(run.last).step if resume else 0
    if first_step < spec.config.train.iterations:
        train(spec.config, spec.run_dir, resume=resume, preset=spec.preset, reporter=reporter)
    outcome = evaluate_source(
        run.best, None, Path(spec.config.data.root), None, "test", None, TEST_METRICS, spec.config.device, seed=0
    )
    curve, best_step = validation_curve(run.metrics, spec.config.train.select_metric)
    record = {
        "name": spec.name,
        "preset": spec.preset,
        "seed": spec.seed,
        "overrides": list(spec.overrides),
        "steps": spec.config.train.iterations,
        "best_step": best_step if best_step is not None else spec.config.train.iterations,
        "resumed_from_step": first_step,
        "wall_s": round(time.perf_counter() - started, 2),
        "test": dict(outcome.result.metrics),
        "test_items": outcome.count,
        "select_metric": spec.config.train.select_metric,
        "curve": curve,
        "config": to_dict(spec.config),
    }
    atomic_write_text(spec.run_dir / RESULT_FILE, json.dumps(record, indent=2) + "\n")
    return {**record, "status": "resumed" if first_step else "trained"}

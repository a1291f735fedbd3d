"""`daml compare` end to end on the digits: 2 presets × 2 seeds with tiny budgets, reuse, resume, refusals."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from daml_cli.cli.main import main
from tests.cli.conftest import one_line_error
from tests.conftest import TINY

SETS = [arg for item in TINY for arg in ("--set", item)]
# DAML has to be on within the 6 tiny steps: 2 pre-training steps, 1 generator warm-up step, then joint.
DAML_SETS = ["--set-for", "digits-triplet-daml:daml.pretrain_iters=2", "--set-for", "digits-triplet-daml:daml.gen_warmup_iters=1"]
PRESETS = ["digits-triplet", "digits-triplet-daml"]
KEYS = ["recall@1", "recall@2", "recall@4", "recall@8", "nmi", "f1", "map@r", "r_precision"]


def compare_args(data_root: Path, out: Path, *extra: str, presets: list[str] = PRESETS, seeds: str = "0,1") -> list[str]:
    return ["compare", *presets, "--seeds", seeds, "--data-root", str(data_root), "--out", str(out), "--device", "cpu",
            *SETS, *(DAML_SETS if "digits-triplet-daml" in presets else []), *extra]


@pytest.fixture(scope="module")
def comparison(digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "cmp"
    try:
        main(compare_args(digits_root, out))
    except SystemExit as done:
        assert not done.code, done
    return out


def last_error_line(code: int, err: str) -> str:
    """A run that fails after training started: progress lines, then one `error:` line, no traceback."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code != 0 and "Traceback" not in err
    assert lines[-1].startswith("error: ") and sum(line.startswith("error:") for line in lines) == 1, err
    return lines[-1]


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_report_files(comparison: Path) -> None:
    report = json.loads((comparison / "report.json").read_text())
    assert [(r["name"], r["seed"]) for r in report["runs"]] == [(p, s) for p in PRESETS for s in (0, 1)]
    assert report["metrics"] == KEYS
    assert report["command"][:4] == ["daml", "compare", *PRESETS]
    for run in report["runs"]:
        assert list(run["test"]) == KEYS and all(0 <= v <= 1 for v in run["test"].values())
        assert run["steps"] == 6 and run["best_step"] in (3, 6) and run["wall_s"] > 0 and run["status"] == "trained"
        assert [step for step, _ in run["curve"]] == [3, 6]
        assert run["config"]["seed"] == run["seed"] and run["config"]["train"]["iterations"] == 6
        folder = comparison / "runs" / run["name"] / f"seed{run['seed']}"
        assert (folder / "checkpoints" / "best.pt").is_file() and (folder / "result.json").is_file()
    assert report["runs"][2]["config"]["daml"]["pretrain_iters"] == 2  # --set-for reached that preset only
    assert report["runs"][0]["config"]["daml"]["pretrain_iters"] == 0
    for metric in KEYS:  # the summary and the paired interval, recomputed here
        values = {(r["name"], r["seed"]): r["test"][metric] for r in report["runs"]}
        daml = np.array([values[("digits-triplet-daml", s)] for s in (0, 1)])
        base = np.array([values[("digits-triplet", s)] for s in (0, 1)])
        assert report["summary"]["digits-triplet-daml"][metric]["mean"] == pytest.approx(daml.mean())
        assert report["summary"]["digits-triplet-daml"][metric]["std"] == pytest.approx(daml.std(ddof=1))
        d = daml - base
        paired = report["paired"]["digits-triplet-daml"][metric]
        assert paired["mean"] == pytest.approx(d.mean())
        if d.std() > 0:
            assert paired["ci95"] == pytest.approx(list(stats.t.interval(0.95, 1, loc=d.mean(), scale=stats.sem(d))))
    assert "Paired difference against digits-triplet" in (comparison / "report.md").read_text()
    from PIL import Image

    from daml_cli.report.scatter import PALETTE

    with Image.open(comparison / "curves.png") as png:  # one colour per compared preset
        colours = {colour for _, colour in png.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert tuple(PALETTE[0]) in colours and tuple(PALETTE[1]) in colours
    assert tuple(PALETTE[2]) not in colours  # 2 presets x 2 seeds: seeds share their preset's colour


def test_test_metrics_match_daml_evaluate(cli, comparison: Path, digits_root: Path, tmp_path: Path) -> None:
    report = json.loads((comparison / "report.json").read_text())
    run = comparison / "runs" / "digits-triplet-daml" / "seed1"
    code, _, err = cli("evaluate", run / "checkpoints" / "best.pt", "--data-root", digits_root, "--device", "cpu",
                       "--json", tmp_path / "m.json")
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text()) == report["runs"][3]["test"]


def test_second_invocation_trains_nothing(cli, comparison: Path, digits_root: Path, tmp_path: Path) -> None:
    before = mtimes(comparison / "runs")
    code, out, err = cli(*compare_args(digits_root, comparison))
    assert code == 0, err
    assert "runs: 0 trained, 0 resumed, 4 reused" in err
    assert mtimes(comparison / "runs") == before
    first = json.loads((comparison / "report.json").read_text())
    assert {r["status"] for r in first["runs"]} == {"reused"}
    # A fresh machine with only report.json (committed beside a doc) redoes nothing either.
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(comparison / "report.json", bare / "report.json")
    code, out, err = cli(*compare_args(digits_root, bare))
    assert code == 0, err
    assert "runs: 0 trained, 0 resumed, 4 reused" in err and not (bare / "runs").exists()
    again = json.loads((bare / "report.json").read_text())
    assert again["paired"] == first["paired"] and again["summary"] == first["summary"]


def test_mismatched_config_refused(cli, comparison: Path, digits_root: Path, tmp_path: Path) -> None:
    report = (comparison / "report.json").read_bytes()
    message = one_line_error(*cli(*compare_args(digits_root, comparison, "--set", "optim.lr_trunk=0.01"))[0::2])
    assert "optim.lr_trunk=0.001" in message and "optim.lr_trunk=0.01" in message and "config.yaml" in message
    assert (comparison / "report.json").read_bytes() == report
    bare = tmp_path / "bare"  # the same check against a committed report.json alone
    bare.mkdir()
    shutil.copy(comparison / "report.json", bare / "report.json")
    message = one_line_error(*cli(*compare_args(digits_root, bare, "--set", "optim.lr_trunk=0.01"))[0::2])
    assert "report.json" in message and "optim.lr_trunk" in message and not (bare / "runs").exists()


def test_interrupted_run_resumes(cli, comparison: Path, digits_root: Path, tmp_path: Path, monkeypatch) -> None:
    from daml_cli.compare import jobs

    step = jobs.EventReporter.step

    def interrupt_at_4(self, number, *args, **kwargs):  # what Ctrl-C at step 4 does
        step(self, number, *args, **kwargs)
        if number == 4:
            os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "cmp"
    args = compare_args(digits_root, out, presets=["digits-triplet"], seeds="1")
    with monkeypatch.context() as patch:
        patch.setattr(jobs.EventReporter, "step", interrupt_at_4)
        code, _, err = cli(*args)
    assert code == 130, err
    assert "stopped at step 4" in last_error_line(code, err) and "daml compare" in err
    run = out / "runs" / "digits-triplet" / "seed1"
    assert (run / "checkpoints" / "last.pt").is_file() and not (run / "result.json").exists()
    code, _, err = cli(*args)
    assert code == 0, err
    record = json.loads((out / "report.json").read_text())["runs"][0]
    assert record["status"] == "resumed" and record["resumed_from_step"] == 4 and "runs: 0 trained, 1 resumed, 0 reused" in err
    uninterrupted = json.loads((comparison / "report.json").read_text())["runs"][1]
    assert (uninterrupted["name"], uninterrupted["seed"]) == ("digits-triplet", 1)
    assert record["test"] == pytest.approx(uninterrupted["test"])  # resuming changed nothing
    assert [v for point in record["curve"] for v in point] == pytest.approx([v for point in uninterrupted["curve"] for v in point])


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["no-such-preset"], "unknown preset 'no-such-preset'"),
        (["digits-triplet", "--seeds", "0,x"], "--seeds must be comma-separated integers"),
        (["digits-triplet", "--seeds", "1,1"], "lists a seed twice"),
        (["digits-triplet", "--set-for", "nope:train.iterations=3"], "'nope', which is not compared"),
        (["digits-triplet", "--set", "seed=3"], "give the seeds with --seeds"),
        (["digits-triplet", "--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_input(cli, tmp_path: Path, digits_root: Path, argv: list[str], expected: str) -> None:
    out = tmp_path / "cmp"
    message = one_line_error(*cli("compare", *argv, "--data-root", digits_root, "--out", out)[0::2])
    assert expected in message
    assert not out.exists()


def test_jobs_two_processes_one_fails(cli, digits_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    code, _, err = cli("compare", "digits-triplet", "bad=digits-triplet", "--set-for", "bad:data.dataset=missing",
                       "--seeds", "0", "--jobs", "2", "--data-root", digits_root, "--out", out, "--device", "cpu", *SETS)
    message = last_error_line(code, err)
    assert "run bad seed 0" in message and "missing does not exist" in message
    assert not (out / "report.json").exists()
    good = json.loads((out / "runs" / "digits-triplet" / "seed0" / "result.json").read_text())  # written by a worker
    assert list(good["test"]) == KEYS and good["steps"] == 6 and [s for s, _ in good["curve"]] == [3, 6]

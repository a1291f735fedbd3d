"""`daml presets`, `daml presets show`, `daml train --dry-run` and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from daml_cli.config.loading import available_presets, load_config, presets_dir
from tests.cli.conftest import one_line_error

REPO = Path(__file__).resolve().parents[2]


def test_presets_lists_the_family_as_a_table(cli) -> None:
    code, out, err = cli("presets")
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    assert header.split() == ["preset", "dataset", "backbone", "loss", "synthesis", "layout", "steps"]
    assert [line.split()[0] for line in lines] == available_presets()
    starts = [header.index(word) for word in header.split()]  # columns are aligned under their headings
    for line in lines:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        data = yaml.safe_load((presets_dir() / f"{cells[0]}.yaml").read_text())
        synthesis = "daml" if data.get("daml", {}).get("enabled") else data.get("synthesis", "none")
        assert cells[1] == data["data"]["dataset"] and cells[3] == data["loss"]["name"], line
        assert cells[4] == synthesis and cells[6] == str(data["train"]["iterations"]), line
        assert cells[5] == (data["daml"].get("layout", "gedml") if synthesis == "daml" else "-"), line
        assert cells[2].startswith(data["model"]["backbone"]) and ("ImageNet" in cells[2]) == bool(data["model"].get("pretrained"))


def test_presets_show_prints_the_yaml_as_shipped(cli) -> None:
    code, out, err = cli("presets", "show", "digits-triplet")
    assert code == 0, err
    assert out == (presets_dir() / "digits-triplet.yaml").read_text(encoding="utf-8")
    code, _, err = cli("presets", "show", "no-such-preset")
    message = one_line_error(code, err)
    assert "unknown preset 'no-such-preset'" in message and "digits-triplet" in message


def test_dry_run_prints_the_merged_config_and_writes_nothing(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(
        "train", "--preset", "digits-triplet", "--set", "train.iterations=7", "--seed", "3", "--data-root", "elsewhere",
        "--out", "runs/x", "--dry-run",
    )
    assert code == 0, err
    assert list(tmp_path.iterdir()) == []  # no run folder, no runs/, nothing
    data = yaml.safe_load(out)
    assert data["train"]["iterations"] == 7 and data["seed"] == 3 and data["data"]["root"] == "elsewhere"
    saved = tmp_path.parent / f"{tmp_path.name}-dry.yaml"
    saved.write_text(out)
    assert load_config(str(saved)) == load_config("digits-triplet", ["train.iterations=7", "seed=3", "data.root=elsewhere"])


def test_dry_run_still_refuses_a_bad_override(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("train", "--preset", "digits-triplet", "--set", "train.iteratons=7", "--dry-run")
    assert "unknown setting 'train.iteratons'" in one_line_error(code, err)


def _complete(words: str, cword: int) -> tuple[str, str]:
    """Ask the `daml` entry point for bash completions; stderr says whether torch was imported."""
    probe = (
        "import atexit, sys; atexit.register(lambda: print('torch loaded' if 'torch' in sys.modules else "
        "'torch not loaded', file=sys.stderr)); from daml_cli.cli.main import main; main()"
    )
    env = {**os.environ, "_DAML_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout, done.stderr


def test_shell_completion_completes_names_without_importing_torch() -> None:
    out, err = _complete("daml prepare om", 2)
    assert out.split() == ["omniglot"] and "torch not loaded" in err
    out, err = _complete("daml presets show cub-trip", 3)
    expected = [name for name in available_presets() if name.startswith("cub-trip")]  # the family grows
    assert out.split() == expected and {"cub-triplet", "cub-triplet-baseline"} <= set(expected) and "torch not loaded" in err
    out, err = _complete("daml pres", 1)
    assert "presets" in out.split()


def test_listing_presets_and_dry_runs_do_not_import_torch() -> None:
    probe = (
        "import sys; from daml_cli.cli.main import main\n"
        "for argv in (['presets'], ['presets', 'show', 'cub-triplet'], ['train', '-p', 'cub-triplet', '--dry-run']):\n"
        "    try: main(argv)\n"
        "    except SystemExit as done: assert not done.code, argv\n"
        "print('torch loaded' if 'torch' in sys.modules else 'torch not loaded', file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "torch not loaded" in done.stderr, done.stderr


def test_show_completion_prints_a_bash_script(cli, monkeypatch) -> None:
    # `--show-completion SHELL` names the shell instead of detecting it from the parent processes (a test run
    # need not have a shell among them); the entry point builds the command afresh, so the variable applies
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    code, out, err = cli("--show-completion", "bash")
    assert code == 0, err
    assert "_DAML_COMPLETE=complete_bash" in out and "complete -o default -F _daml_completion daml" in out

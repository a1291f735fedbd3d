"""`daml prepare` through the real entry point: output, idempotency message, one-line errors, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import run_cli as _run
from daml_cli.data.manifest import read_manifest




def _tree(root: Path, classes: list[str], per_class: int = 2) -> Path:
    from PIL import Image

    for index, name in enumerate(classes):
        for i in range(per_class):
            path = root / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("L", (6, 6), index * 30 + i).save(path)
    return root


def test_folder_prepare_then_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _tree(tmp_path / "src", ["a", "b", "c", "d"])
    argv = ["prepare", "folder", str(tmp_path / "data"), "--source", str(source), "--seed", "2",
            "--val-classes", "1", "--test-fraction", "0.5"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "train" in out and "val" in out and "test" in out and "prepared" in out
    manifest = read_manifest(tmp_path / "data" / "folder")
    assert {row.split for row in manifest.rows} == {"train", "val", "test"}
    code, out, _ = _run(argv, capsys)
    assert code == 0 and "already prepared" in out and "--force" in out
    code, out, _ = _run([*argv, "--force"], capsys)
    assert code == 0 and "already prepared" not in out


def test_unknown_name_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["prepare", "nonsense", str(tmp_path)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith("error: unknown dataset 'nonsense'")
    assert "digits" in err and "folder" in err


def test_existing_folder_refusal_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "keep.txt").write_text("mine")
    source = _tree(tmp_path / "src", ["a", "b"])
    code, _, err = _run(["prepare", "folder", str(tmp_path), "--source", str(source)], capsys)
    assert code == 2 and "--force" in err and err.startswith("error:")
    assert (tmp_path / "folder" / "keep.txt").read_text() == "mine"


def test_digits_via_subprocess_without_torch(tmp_path: Path) -> None:
    """`python -m daml_cli prepare digits` works and never imports torch."""
    script = (
        "import sys, runpy\n"
        "sys.argv = ['daml', 'prepare', 'digits', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('daml_cli', run_name='__main__')\n"
        "finally:\n"
        "    assert 'torch' not in sys.modules, 'prepare imported torch'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "901" in result.stdout and "896" in result.stdout
    assert len(read_manifest(tmp_path / "digits").rows) == 1797


def test_data_root_option_is_the_same_as_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _tree(tmp_path / "src", ["a", "b", "c", "d"])
    code, out, err = _run(["prepare", "folder", "--data-root", str(tmp_path / "data"), "--source", str(source)], capsys)
    assert code == 0, err
    assert read_manifest(tmp_path / "data" / "folder").rows
    code, _, err = _run(["prepare", "folder", str(tmp_path / "a"), "--data-root", str(tmp_path / "b"), "--source",
                         str(source)], capsys)
    assert code != 0 and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_help_shows_plain_metavars(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["prepare"], ["retrieve"], ["evaluate"], ["index", "build"], ["train"], ["export"]):
        code, out, _ = _run([*command, "--help"], capsys)
        assert code == 0
        import re

        assert not re.search(r"<[a-z][\w\[\]]*>|\{[a-z]+\}", out), out  # no <path>, <list[Path]>, {name}
    code, out, _ = _run(["retrieve", "--help"], capsys)
    assert "Usage: daml retrieve [OPTIONS] QUERY..." in out and "-k, --top-k K" in out and "--json PATH" in out
    code, out, _ = _run(["evaluate", "--help"], capsys)
    assert "--recall-at K,..." in out and "--k " not in out  # the old spelling is hidden

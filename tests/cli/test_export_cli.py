"""`daml export` through the real entry point: a verified export, and bad input as one-line errors."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from tests.cli.conftest import one_line_error

HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def test_torchscript_export_reports_the_difference(cli, tiny_run, digits_root, tmp_path) -> None:
    out = tmp_path / "exports" / "model.pt"
    code, stdout, err = cli("export", tiny_run, "--format", "torchscript", "--out", out,
                            "--verify-images", digits_root / "digits" / "images" / "7")
    assert code == 0, err
    assert "wrote torchscript model" in stdout and "max |diff| vs PyTorch = " in stdout
    assert "+ 64 real images" in stdout  # the folder has more; verification uses at most 64
    assert out.stat().st_size > 0 and json.loads((tmp_path / "exports" / "model.pt.json").read_text())["format"] == "torchscript"


@pytest.mark.skipif(not HAVE_ORT, reason='onnx/onnxruntime not installed (pip install "daml-cli[onnx]")')
def test_onnx_export_with_the_legacy_exporter(cli, tiny_run, tmp_path) -> None:
    out = tmp_path / "model.onnx"
    code, stdout, err = cli("export", tiny_run, "--format", "ONNX", "--exporter", "legacy", "--out", out)
    assert code == 0, err
    assert "(legacy, opset 18, any batch size, 16-d embeddings)" in stdout and out.is_file()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--format", "tflite"], "unknown export format 'tflite'"),
        (["--format", "onnx", "--exporter", "magic"], "unknown ONNX exporter 'magic'"),
        (["--format", "torchscript", "--no-batch-dynamic"], "TorchScript export always accepts any batch size"),
        (["--format", "onnx", "--no-batch-dynamic", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--format", "torchscript", "--verify-images", "no/such/image.png"], "verification image no/such/image.png does not exist"),
    ],
)
def test_bad_options_are_one_line_errors(cli, tiny_run, tmp_path, argv, expected) -> None:
    code, _, err = cli("export", tiny_run, "--out", tmp_path / "m.bin", *argv)
    assert expected in one_line_error(code, err)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt_checkpoints(cli, tmp_path) -> None:
    code, _, err = cli("export", tmp_path / "nothing", "--format", "torchscript", "--out", tmp_path / "m.pt")
    assert "does not exist" in one_line_error(code, err)
    (tmp_path / "empty_run").mkdir()
    code, _, err = cli("export", tmp_path / "empty_run", "--format", "torchscript", "--out", tmp_path / "m.pt")
    assert "holds no checkpoints/best.pt" in one_line_error(code, err)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    code, _, err = cli("export", bad, "--format", "torchscript", "--out", tmp_path / "m.pt")
    assert "corrupt or not a PyTorch file" in one_line_error(code, err)
    assert not (tmp_path / "m.pt").exists()


def test_missing_onnxruntime_says_how_to_install(cli, tiny_run, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code, _, err = cli("export", tiny_run, "--format", "onnx", "--out", tmp_path / "m.onnx")
    line = one_line_error(code, err)
    assert "onnxruntime" in line and 'pip install "daml-cli[onnx]"' in line
    assert not (tmp_path / "m.onnx").exists()

"""`daml export` engine: exported TorchScript/ONNX models embed real digits images like PyTorch does, with a
dynamic batch axis, a complete sidecar, and nothing left behind when an export or its verification fails."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from daml_cli.data.checksum import file_sha256
from daml_cli.data.manifest import read_manifest
from daml_cli.errors import DamlError
from daml_cli.export import onnx as onnx_export
from daml_cli.export import torchscript
from daml_cli.export.job import TRACE_BATCH, export_model
from daml_cli.export.sidecar import sidecar_path
from daml_cli.export.verify import image_batches
from daml_cli.inference.loading import load_model
from daml_cli.models.embedder import embed_paths

TOLERANCE = 1e-4
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
HAVE_ONNXSCRIPT = importlib.util.find_spec("onnxscript") is not None
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason='onnx/onnxruntime not installed (pip install "daml-cli[onnx]")')


@pytest.fixture(scope="module")
def digit_paths(digits_root: Path) -> list[Path]:
    """Seven real test-split images (seven: neither the trace batch nor the verification batch sizes)."""
    manifest = read_manifest(digits_root / "digits")
    rows = [row for row in manifest.rows if row.split == "test"][::37][:7]
    assert len(rows) == 7
    return [digits_root / "digits" / row.path for row in rows]


@pytest.fixture(scope="module")
def reference(tiny_run: Path, digit_paths: list[Path]) -> np.ndarray:
    """PyTorch's embeddings of `digit_paths`, through the same code path as `daml embed`."""
    loaded = load_model(tiny_run, "cpu")
    return embed_paths(loaded.model, digit_paths, loaded.preprocessing, loaded.device)


def _preprocessed(tiny_run: Path, paths: list[Path]) -> np.ndarray:
    loaded = load_model(tiny_run, "cpu")
    return image_batches(paths, loaded.preprocessing, len(paths), pad=False)[0]


@pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:FutureWarning")
def test_torchscript_matches_pytorch_on_real_images(tiny_run, digit_paths, reference, tmp_path) -> None:
    out = tmp_path / "model.pt"
    summary = export_model(tiny_run, out, "torchscript", verify_images=digit_paths)
    assert summary.verification is not None and summary.verification.real_images == 7
    assert summary.verification.max_abs_diff <= TOLERANCE
    module = torch.jit.load(str(out))
    batch = _preprocessed(tiny_run, digit_paths)
    assert len(batch) != TRACE_BATCH
    with torch.no_grad():
        exported = module(torch.from_numpy(batch)).numpy()
        single = module(torch.from_numpy(batch[:1])).numpy()
    assert exported.shape == reference.shape == (7, 16)
    assert np.abs(exported - reference).max() <= TOLERANCE
    assert np.abs(single - reference[:1]).max() <= TOLERANCE
    assert np.allclose(np.linalg.norm(exported, axis=1), 1.0, atol=1e-5)  # the L2 normalisation is inside


@needs_ort
@pytest.mark.skipif(not HAVE_ONNXSCRIPT, reason='onnxscript not installed (pip install "daml-cli[onnx]")')
def test_onnx_dynamo_matches_pytorch_with_dynamic_batch(tiny_run, digit_paths, reference, tmp_path) -> None:
    import onnxruntime

    out = tmp_path / "model.onnx"
    summary = export_model(tiny_run, out, "onnx", exporter="dynamo", verify_images=digit_paths[:3])
    assert summary.opset == 18 and summary.batch is None
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inputs,) = session.get_inputs()
    assert inputs.name == "images" and isinstance(inputs.shape[0], str) and inputs.shape[1:] == [3, 16, 16]
    batch = _preprocessed(tiny_run, digit_paths)
    for rows in (slice(0, 7), slice(2, 3), slice(0, 5)):
        (exported,) = session.run(None, {"images": batch[rows]})
        assert exported.shape == reference[rows].shape
        assert np.abs(exported - reference[rows]).max() <= TOLERANCE


@needs_ort
def test_onnx_legacy_fixed_batch(tiny_run, digit_paths, reference, tmp_path) -> None:
    import onnxruntime

    out = tmp_path / "fixed.onnx"
    summary = export_model(tiny_run, out, "onnx", exporter="legacy", batch_dynamic=False, batch_size=3,
                           verify_images=digit_paths)
    assert summary.batch == 3 and summary.verification.batch_sizes == [3]
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [3, 3, 16, 16]
    batch = _preprocessed(tiny_run, digit_paths)
    (exported,) = session.run(None, {"images": batch[:3]})
    assert np.abs(exported - reference[:3]).max() <= TOLERANCE
    with pytest.raises(Exception):  # a fixed batch axis refuses other sizes
        session.run(None, {"images": batch[:2]})
    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["batch"] == 3 and sidecar["input"]["shape"] == [3, 3, 16, 16] and sidecar["exporter"] == "legacy"


def test_sidecar_describes_input_and_provenance(tiny_run, tmp_path) -> None:
    out = tmp_path / "m.pt"
    summary = export_model(tiny_run, out, "torchscript")
    loaded = load_model(tiny_run, "cpu")
    assert summary.sidecar == tmp_path / "m.pt.json"
    sidecar = json.loads(summary.sidecar.read_text())
    assert sidecar["format"] == "torchscript" and sidecar["opset"] is None and sidecar["file"] == "m.pt"
    pre = sidecar["preprocessing"]
    assert {key: pre[key] for key in ("resize", "crop", "mean", "std")} == loaded.preprocessing
    assert sidecar["embedding_dim"] == loaded.model.embedding_dim == 16
    assert sidecar["input"] == {"name": "images", "dtype": "float32", "shape": ["batch", 3, 16, 16], "layout": "NCHW",
                                "color": "RGB"}
    assert sidecar["output"]["shape"] == ["batch", 16] and sidecar["output"]["l2_normalized"] is True
    assert sidecar["checkpoint"] == {"path": str(loaded.checkpoint), "sha256": file_sha256(loaded.checkpoint)}
    assert sidecar["verification"]["max_abs_diff"] <= TOLERANCE and sidecar["verification"]["batch_sizes"] == [1, 3]


def test_failed_verification_leaves_no_file_and_keeps_the_old_one(tiny_run, tmp_path, monkeypatch) -> None:
    out = tmp_path / "m.pt"
    out.write_bytes(b"previous export")
    real_runner = torchscript.torchscript_runner
    monkeypatch.setattr(torchscript, "torchscript_runner", lambda path: (lambda batch: real_runner(path)(batch) + 1e-3))
    with pytest.raises(DamlError, match="differ from PyTorch's by up to 0.001"):
        export_model(tiny_run, out, "torchscript")
    assert out.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no sidecar, no temporary file


def test_failing_exporter_leaves_nothing(tiny_run, tmp_path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::magic\nmore detail")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(DamlError) as caught:
        export_model(tiny_run, tmp_path / "m.onnx", "onnx", exporter="legacy", verify=False)
    assert caught.value.message.endswith("failed: unsupported operator aten::magic")
    assert "\n" not in caught.value.one_line()
    assert list(tmp_path.iterdir()) == []


def test_missing_onnx_packages_name_the_extra(tiny_run, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)
    with pytest.raises(DamlError, match=r'onnxruntime.*pip install "daml-cli\[onnx\]"'):
        export_model(tiny_run, tmp_path / "m.onnx", "onnx", exporter="legacy")
    assert list(tmp_path.iterdir()) == []
    assert onnx_export.required_packages("legacy", verify=False) == ["onnx"]

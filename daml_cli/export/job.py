"""The engine behind `daml export`: checkpoint -> TorchScript or ONNX file + JSON sidecar, verified, atomic.

The model file is written to a temporary name beside `out`, verified there against PyTorch, and only then
renamed into place (sidecar first, then the model), so a failed export or verification leaves nothing new
behind and an earlier file at `out` untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from daml_cli.atomic import atomic_path, atomic_write_text
from daml_cli.errors import ConfigError
from daml_cli.export import onnx as onnx_export
from daml_cli.export import torchscript
from daml_cli.export.sidecar import build_sidecar, sidecar_path
from daml_cli.export.verify import (
    DEFAULT_TOLERANCE,
    DYNAMIC_BATCH_SIZES,
    VerifyReport,
    collect_images,
    random_batches,
    verify_export,
)
from daml_cli.inference.loading import load_model
from daml_cli.safety.outputs import check_output_file
from daml_cli.models.checkpoint import resolve_checkpoint

FORMATS = ("onnx", "torchscript")
TRACE_BATCH = 2  # a dynamic axis needs a trace batch of at least 2 (sizes 0 and 1 get specialised)


@dataclass
class ExportSummary:
    out: Path
    sidecar: Path
    format: str
    exporter: str
    opset: int | None
    embedding_dim: int
    batch: int | None  # None: any batch size
    verification: VerifyReport | None
    checkpoint: Path


def check_request(out: Path, export_format: str, exporter: str, batch_dynamic: bool, batch_size: int, opset: int) -> None:
    """Refuse impossible combinations before any work is done (one-line ConfigErrors)."""
    if export_format not in FORMATS:
        raise ConfigError(f"unknown export format '{export_format}'", f"choose one of {', '.join(FORMATS)}")
    if export_format == "onnx" and exporter not in onnx_export.EXPORTERS:
        raise ConfigError(f"unknown ONNX exporter '{exporter}'", f"choose one of {', '.join(onnx_export.EXPORTERS)}")
    if export_format == "torchscript" and not batch_dynamic:
        raise ConfigError("a TorchScript export always accepts any batch size", "--no-batch-dynamic applies to ONNX only")
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    if export_format == "onnx" and opset < 7:
        raise ConfigError(f"--opset must be at least 7, got {opset}")
    if out.is_dir():
        raise ConfigError(f"{out} is a folder", "pass the file to write, e.g. --out model.onnx")


def check_opset(opset: int) -> None:
    """The opset must be one the installed `onnx` package knows (a higher one fails deep inside the exporter)."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ConfigError(f"--opset {opset} is newer than the installed onnx supports ({newest})",
                          f"choose an opset from 7 to {newest}")


def export_model(
    run_or_checkpoint: Path | str,
    out: Path | str,
    export_format: str = "onnx",
    *,
    batch_dynamic: bool = True,
    batch_size: int = 1,
    verify: bool = True,
    verify_images: Sequence[Path | str] = (),
    opset: int = onnx_export.DEFAULT_OPSET,
    exporter: str = "dynamo",
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> ExportSummary:
    """Export the embedding model of a run folder or checkpoint to `out` (+ ``out.json``), on the CPU.

    `batch_size` is the one batch size accepted when `batch_dynamic` is off (ONNX only). With `verify`,
    the written file is run on random batches and on `verify_images` (files or folders) and must match
    PyTorch to within `tolerance` (max abs difference), or nothing is written.
    """
    out = Path(out)
    check_request(out, export_format, exporter, batch_dynamic, batch_size, opset)
    checkpoint = resolve_checkpoint(run_or_checkpoint)
    reads = [("the checkpoint", checkpoint), *(("--verify-images", image) for image in verify_images)]
    check_output_file(out, "--out", reads=reads)
    check_output_file(sidecar_path(out), "--out's sidecar", reads=reads)
    if export_format == "onnx":
        onnx_export.require_modules(onnx_export.required_packages(exporter, verify), "ONNX export")
        check_opset(opset)
    images = collect_images(verify_images) if verify else []
    loaded = load_model(run_or_checkpoint, "cpu")
    model = loaded.model
    crop = int(loaded.preprocessing["crop"])
    trace_batch = TRACE_BATCH if batch_dynamic else batch_size
    sample = torch.from_numpy(random_batches(crop, [trace_batch], seed)[0])  # only its shape matters
    fixed = None if batch_dynamic else batch_size
    report: VerifyReport | None = None
    with atomic_path(out) as tmp:
        if export_format == "onnx":
            used_opset: int | None = onnx_export.export_onnx(model, sample, tmp, opset, batch_dynamic, exporter)
            exporter_name = exporter
        else:
            torchscript.export_torchscript(model, sample, tmp)
            used_opset, exporter_name = None, "torch.jit.trace"
        if verify:
            runner = onnx_export.onnx_runner(tmp) if export_format == "onnx" else torchscript.torchscript_runner(tmp)
            sizes = DYNAMIC_BATCH_SIZES if batch_dynamic else (batch_size, batch_size)
            report = verify_export(model, runner, crop, sizes, images, loaded.preprocessing, fixed, tolerance, seed + 1)
        sidecar = build_sidecar(
            model_file=out, export_format=export_format, exporter=exporter_name, opset=used_opset, batch=fixed,
            embedding_dim=model.embedding_dim, l2_normalized=model.normalize, preprocessing=loaded.preprocessing,
            checkpoint=loaded.checkpoint, sha256=loaded.sha256, backbone=loaded.config.model.backbone,
            layout=loaded.config.model.layout, torch_version=torch.__version__,
            verification=None if report is None else report.as_dict(),
        )
        atomic_write_text(sidecar_path(out), json.dumps(sidecar, indent=2) + "\n")
    return ExportSummary(out, sidecar_path(out), export_format, exporter_name, used_opset, model.embedding_dim, fixed,
                         report, loaded.checkpoint)


"""The JSON sidecar (``FILE.json``) that tells a serving stack how to feed an exported model.

An exported model takes an already preprocessed batch, so the sidecar spells out that preprocessing (the
same as `daml embed`: RGB, resize the shorter side, centre crop, scale to [0, 1], per-channel
``(x − mean) / std``), the input/output names and shapes, and where the weights came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daml_cli import __version__
from daml_cli.index.metadata import sidecar_path

__all__ = ["build_sidecar", "preprocessing_description", "sidecar_path"]


def preprocessing_description(preprocessing: dict[str, Any]) -> dict[str, Any]:
    """The evaluation preprocessing as plain data plus the ordered steps in words."""
    resize, crop = int(preprocessing["resize"]), int(preprocessing["crop"])
    return {
        "resize": resize,
        "crop": crop,
        "mean": [float(v) for v in preprocessing["mean"]],
        "std": [float(v) for v in preprocessing["std"]],
        "steps": [
            "decode as 8-bit RGB (EXIF orientation applied)",
            f"resize so the shorter side is {resize} px (bilinear, antialiased; aspect ratio kept)",
            f"centre-crop {crop}x{crop}",
            "scale to [0, 1] (divide by 255)",
            "per channel: (x - mean) / std",
            f"stack as float32 N x 3 x {crop} x {crop} (NCHW)",
        ],
    }


def build_sidecar(
    *,
    model_file: Path,
    export_format: str,
    exporter: str,
    opset: int | None,
    batch: int | None,
    embedding_dim: int,
    l2_normalized: bool,
    preprocessing: dict[str, Any],
    checkpoint: Path,
    sha256: str,
    backbone: str,
    layout: str,
    torch_version: str,
    verification: dict[str, Any] | None,
) -> dict[str, Any]:
    """The sidecar's content; `batch` is None for a dynamic batch axis, else the one accepted batch size."""
    crop = int(preprocessing["crop"])
    batch_dim: int | str = "batch" if batch is None else int(batch)
    return {
        "daml_version": __version__,
        "file": model_file.name,
        "format": export_format,
        "exporter": exporter,
        "opset": opset,
        "batch": "dynamic" if batch is None else int(batch),
        "input": {"name": "images", "dtype": "float32", "shape": [batch_dim, 3, crop, crop], "layout": "NCHW",
                  "color": "RGB"},
        "output": {"name": "embeddings", "dtype": "float32", "shape": [batch_dim, int(embedding_dim)],
                   "l2_normalized": bool(l2_normalized)},
        "embedding_dim": int(embedding_dim),
        "preprocessing": preprocessing_description(preprocessing),
        "model": {"backbone": backbone, "layout": layout},
        "checkpoint": {"path": str(checkpoint), "sha256": sha256},
        "torch_version": torch_version,
        "verification": verification,
    }

"""Checkpoints: atomic writes, `weights_only` loading, and the checks that make them safe to open."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from daml_cli.atomic import atomic_path
from daml_cli.config.ranges import check_preprocessing
from daml_cli.errors import CheckpointError

FORMAT = "daml-checkpoint"
VERSION = 1
MAX_CHECKPOINT_BYTES = 8 * 1024**3
REQUIRED_KEYS = ("format", "version", "config", "preprocessing", "step", "model")


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` (plain data and tensors only) to `path` atomically."""
    payload = {"format": FORMAT, "version": VERSION, **payload}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check it is a daml checkpoint of a known version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist", "pass a run folder or a .pt file written by `daml train`")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint {path} is {size:,} bytes, more than any daml model needs")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or not a PyTorch file: {reason}", "use another checkpoint or retrain") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a daml checkpoint", "pass a checkpoint written by `daml train`")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {payload.get('version')}, this daml reads {VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}", "use another checkpoint or retrain")
    payload["preprocessing"] = check_preprocessing(payload["preprocessing"], f"checkpoint {path}", CheckpointError)
    return payload


def resolve_checkpoint(run_or_checkpoint: Path | str) -> Path:
    """A run folder means its `checkpoints/best.pt` (or `last.pt`); a file is taken as it is."""
    target = Path(run_or_checkpoint)
    if target.is_dir():
        for name in ("best.pt", "last.pt"):
            candidate = target / "checkpoints" / name
            if candidate.is_file():
                return candidate
        raise CheckpointError(f"{target} holds no checkpoints/best.pt or checkpoints/last.pt", "train a model into it first")
    if not target.exists():
        raise CheckpointError(f"{target} does not exist", "pass a run folder or a checkpoint file")
    return target


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

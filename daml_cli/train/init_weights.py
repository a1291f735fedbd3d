"""Start a new run from trained weights (`daml train --init CKPT`, config key ``train.init``).

The trunk, neck and embedder of any daml checkpoint (DAML or not, any preset) are copied into the fresh
model of this run; DAML's generator and all optimiser state start fresh. Rules:

- every trunk tensor of this run must exist in the checkpoint with the same shape;
- a neck or embedder tensor is copied when the checkpoint has one of the same name and shape, and left at
  its fresh initialisation when the checkpoint has none (e.g. a ``standard`` head seeding an ``official``
  one: only the trunk carries over);
- a tensor of the same name and another shape is refused, naming the tensor.

The file's SHA-256 is recorded in ``train.init_sha256`` (config.yaml), and a recorded hash that no longer
matches the file is refused, so a run started from weights reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from daml_cli.errors import CheckpointError
from daml_cli.models.checkpoint import file_sha256, load_checkpoint, resolve_checkpoint

COPIED_PARTS = ("trunk.", "neck.", "embedder.")


@dataclass(frozen=True)
class InitReport:
    path: str
    sha256: str
    copied: int  # tensors copied from the checkpoint
    fresh: list[str]  # neck/embedder tensors the checkpoint had none of


def _shape(tensor: torch.Tensor) -> str:
    return "(" + ", ".join(str(size) for size in tensor.shape) + ")"


def init_from_checkpoint(model: nn.Module, path: Path | str, expected_sha256: str = "") -> InitReport:
    """Copy the trunk/neck/embedder tensors of checkpoint `path` (a file, or a run folder's best.pt) into
    `model` in place (see the module docstring); `expected_sha256`, when given, must match the file."""
    path = resolve_checkpoint(path).resolve()
    source = load_checkpoint(path).model
    sha = file_sha256(path)
    if expected_sha256 and sha != expected_sha256:
        raise CheckpointError(
            f"--init checkpoint {path} has SHA-256 {sha[:12]}…, the run recorded {expected_sha256[:12]}…",
            "use the original file, or clear train.init_sha256 to start from this one",
        )
    target = model.state_dict()
    copied, fresh = 0, []
    with torch.no_grad():
        for name, tensor in target.items():
            if not name.startswith(COPIED_PARTS):
                continue
            if name not in source:
                if name.startswith("trunk."):
                    raise CheckpointError(
                        f"--init checkpoint {path} has no tensor '{name}' for this run's trunk",
                        "start from a checkpoint of the same model.backbone and model.width",
                    )
                fresh.append(name)
                continue
            if source[name].shape != tensor.shape:
                raise CheckpointError(
                    f"--init checkpoint {path} does not fit this run's model: tensor '{name}' is "
                    f"{_shape(source[name])} there and {_shape(tensor)} here",
                    "match model.backbone, model.width, model.embedding_dim and model.layout to the checkpoint's",
                )
            tensor.copy_(source[name])
            copied += 1
    return InitReport(str(path), sha, copied, fresh)

"""Backbone weights from a local file (`model.weights` / `train --weights`), checked before use.

For machines without a network: the file replaces torchvision's ImageNet download. It is read with
``weights_only=True`` and every tensor the backbone needs must be there with the backbone's shape; keys the
backbone does not have (e.g. GoogLeNet's auxiliary heads) are ignored.
"""

from __future__ import annotations

from pathlib import Path

import torch

from daml_cli.data.checksum import file_digest
from daml_cli.errors import CheckpointError
from daml_cli.models.checkpoint import check_finite_weights

_IGNORED_SUFFIXES = ("num_batches_tracked",)  # BatchNorm counters: absent from many published files


def weights_sha256(path: Path | str) -> str:
    return file_digest(Path(path).expanduser(), "sha256")


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    from daml_cli.safety.files import require_regular_file

    require_regular_file(path, "weights file", CheckpointError, "pass the path of a .pth/.pt state dict")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise CheckpointError(f"weights file {path} is corrupt or not a PyTorch file: {reason}") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"weights file {path} does not hold a state dict (a mapping of names to tensors)")
    check_finite_weights(data, f"weights file {path}")
    return data


def load_weights_file(path: Path | str, model: torch.nn.Module) -> None:
    """Load the state dict in `path` into `model`, refusing missing tensors and shape mismatches."""
    path = Path(path).expanduser()
    state = _read_state_dict(path)
    expected = {k: v for k, v in model.state_dict().items() if not k.endswith(_IGNORED_SUFFIXES)}
    mismatched = [k for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if mismatched:
        key = mismatched[0]
        raise CheckpointError(
            f"weights file {path} does not fit the backbone: {len(mismatched)} tensor(s) have another shape, "
            f"e.g. '{key}' is {tuple(state[key].shape)} in the file and {tuple(expected[key].shape)} in the backbone",
            "check model.backbone (and model.width) against the file",
        )
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(
            f"weights file {path} lacks {len(missing)} of the backbone's {len(expected)} tensors, e.g. '{missing[0]}'",
            "check model.backbone against the file",
        )
    model.load_state_dict({k: state[k] for k in expected}, strict=False)

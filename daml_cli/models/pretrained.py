"""ImageNet weights through torchvision's weights API, from the local cache or a download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from daml_cli.errors import CheckpointError


def cache_file(url: str) -> Path:
    """Where torchvision's hub cache keeps the file downloaded from `url`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def load_imagenet_state_dict(weights: Any) -> dict[str, torch.Tensor]:
    """The state dict of a torchvision `weights` enum member: cached file first, else download.

    A cached file is loaded with ``weights_only=True``. When it is absent and cannot be downloaded, the
    error names the file and the cache folder so it can be placed there by hand.
    """
    path = cache_file(weights.url)
    if not path.is_file():
        try:
            weights.get_state_dict(progress=True, check_hash=True)
        except Exception as error:  # network failure, HTTP error, hash mismatch
            raise CheckpointError(
                f"ImageNet weights {path.name} are not in the cache and could not be downloaded ({type(error).__name__})",
                f"download {weights.url} and place it in {path.parent}, or set model.pretrained=false",
            ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"cached ImageNet weights {path} are corrupt ({type(error).__name__})", "delete the file and retry"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"cached ImageNet weights {path} do not hold a state dict", "delete the file and retry")
    return state

"""Image preprocessing for training and evaluation, described by a plain dict that travels with models.

Transforms work on 3×H×W uint8 tensors (see `images.load_rgb_tensor`) with torchvision's v2 API.
"""

from __future__ import annotations

from typing import Any

from daml_cli.config.schema import DataConfig


def preprocessing_spec(config: DataConfig) -> dict[str, Any]:
    """The evaluation preprocessing as plain data: stored in checkpoints and index metadata."""
    return {"resize": config.resize, "crop": config.image_size, "mean": list(config.mean), "std": list(config.std)}


def _to_normalised_float(mean: list[float], std: list[float]) -> list[Any]:
    import torch
    from torchvision.transforms import v2

    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]


def eval_transform(spec: dict[str, Any]) -> Any:
    """Resize the shorter side, centre-crop, scale to [0, 1], normalise."""
    from torchvision.transforms import v2

    return v2.Compose(
        [v2.Resize(spec["resize"], antialias=True), v2.CenterCrop(spec["crop"]), *_to_normalised_float(spec["mean"], spec["std"])]
    )


def train_transform(config: DataConfig) -> Any:
    """Resize the shorter side, random crop and (optionally) horizontal flip, scale, normalise."""
    if not config.augment:
        return eval_transform(preprocessing_spec(config))
    from torchvision.transforms import v2

    steps = [v2.Resize(config.resize, antialias=True), v2.RandomCrop(config.image_size)]
    if config.hflip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose([*steps, *_to_normalised_float(config.mean, config.std)])

"""Image preprocessing for training and evaluation, described by a plain dict that travels with models."""

from __future__ import annotations

from typing import Any

from daml_cli.config.schema import DataConfig


def preprocessing_spec(config: DataConfig) -> dict[str, Any]:
    """The evaluation preprocessing as plain data: stored in checkpoints and index metadata."""
    return {"resize": config.resize, "crop": config.image_size, "mean": list(config.mean), "std": list(config.std)}


def eval_transform(spec: dict[str, Any]) -> Any:
    """Resize the shorter side, centre-crop, to tensor, normalise."""
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(spec["resize"]),
            T.CenterCrop(spec["crop"]),
            T.ToTensor(),
            T.Normalize(spec["mean"], spec["std"]),
        ]
    )


def train_transform(config: DataConfig) -> Any:
    """Resize the shorter side, random crop and (optionally) horizontal flip, to tensor, normalise."""
    if not config.augment:
        return eval_transform(preprocessing_spec(config))
    from torchvision import transforms as T

    steps = [T.Resize(config.resize), T.RandomCrop(config.image_size)]
    if config.hflip:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(config.mean, config.std)]
    return T.Compose(steps)

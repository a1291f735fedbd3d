"""Training and validation rows for a run: the manifest's `val` split, or classes carved from `train`."""

from __future__ import annotations

import random

from daml_cli.data.manifest import Manifest, ManifestRow
from daml_cli.errors import ConfigError


def carve_validation(rows: list[ManifestRow], fraction: float, seed: int) -> tuple[list[ManifestRow], list[ManifestRow]]:
    """Move a seeded `fraction` of the classes in `rows` to validation; returns (train, val).

    Whole classes move, so validation classes are disjoint from training ones (and from test ones, since
    `rows` come from the training split). A fraction of 0 returns no validation rows.
    """
    if not 0 <= fraction < 1:
        raise ConfigError(f"'data.val_classes' must be in [0, 1), got {fraction}")
    classes = sorted({row.label for row in rows})
    count = round(len(classes) * fraction)
    if fraction > 0:
        count = max(2, count)
    if count and len(classes) - count < 2:
        raise ConfigError(
            f"cannot hold out {count} of {len(classes)} training classes for validation",
            "lower data.val_classes or set it to 0",
        )
    held_out = set(random.Random(seed).sample(classes, count)) if count else set()
    return [r for r in rows if r.label not in held_out], [r for r in rows if r.label in held_out]


def training_splits(manifest: Manifest, val_fraction: float, seed: int) -> tuple[list[ManifestRow], list[ManifestRow]]:
    """(train rows, validation rows): a prepared `val` split wins over carving one at train time."""
    train = manifest.split("train")
    prepared_val = [row for row in manifest.rows if row.split == "val"]
    if prepared_val:
        return train, prepared_val
    return carve_validation(train, val_fraction, seed)

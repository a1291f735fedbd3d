"""Training and validation rows for a run: the manifest's `val` split, or classes carved from `train`."""

from __future__ import annotations

from daml_cli.data.manifest import Manifest, ManifestRow
from daml_cli.data.validation import carve_validation


def training_splits(manifest: Manifest, val_classes: float, seed: int) -> tuple[list[ManifestRow], list[ManifestRow]]:
    """(train rows, validation rows).

    A `val` split written by ``daml prepare --val-classes`` wins; otherwise `val_classes` (a fraction below 1
    or a number of classes, as for ``prepare``) of the training classes are held out, seeded. Whole classes
    move, so validation never shares a class with training or test.
    """
    train = manifest.split("train")
    prepared_val = [row for row in manifest.rows if row.split == "val"]
    if prepared_val:
        return train, prepared_val
    rows = carve_validation(train, val_classes, seed)
    return [r for r in rows if r.split == "train"], [r for r in rows if r.split == "val"]

"""The optional validation split: whole training classes moved from split 'train' to 'val'.

Shared by ``daml prepare --val-classes`` and a training run's ``data.val_classes``, so its messages name both.

Validation classes are carved from the training classes (never from test) so model selection never sees a
test class, which is what a class-disjoint (zero-shot) protocol requires.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace

from daml_cli.data.manifest import ManifestRow
from daml_cli.errors import DataError


def validation_class_count(val_classes: float, train_classes: int) -> int:
    """How many training classes `val_classes` asks for.

    ``0 < v < 1``: a fraction, ``max(1, round(v * C))``; ``v >= 1``: exactly ``v`` classes (must be whole);
    ``0``: none. At least one class must stay in training.
    """
    if val_classes < 0 or math.isnan(val_classes):
        raise DataError(f"the validation classes (--val-classes, or data.val_classes in a run) must be >= 0, got {val_classes}")
    if val_classes == 0:
        return 0
    if val_classes < 1:
        count = max(1, round(val_classes * train_classes))
    else:
        if val_classes != int(val_classes):
            raise DataError(
                f"the validation classes (--val-classes, or data.val_classes in a run) are {val_classes}, "
                "neither a fraction below 1 nor a whole number of classes"
            )
        count = int(val_classes)
    if count >= train_classes:
        raise DataError(
            f"the validation classes (--val-classes, or data.val_classes in a run) ask for {count} of the "
            f"{train_classes} training classes",
            "at least one class must stay in training; use a smaller value",
        )
    return count


def carve_validation(rows: Sequence[ManifestRow], val_classes: float, seed: int) -> list[ManifestRow]:
    """Move the rows of randomly chosen training classes (seeded) to split 'val'; other rows are unchanged."""
    train_labels = sorted({row.label for row in rows if row.split == "train"})
    count = validation_class_count(val_classes, len(train_labels))
    if count == 0:
        return list(rows)
    chosen = set(random.Random(seed).sample(train_labels, count))
    return [
        replace(row, split="val") if row.split == "train" and row.label in chosen else row for row in rows
    ]

"""A table from training label values to rows of a per-class parameter (Proxy-Anchor's proxies, HDML's classifier).

Manifest labels are integers with gaps (test and validation classes are taken out), so a per-class parameter of
C rows cannot be indexed by the label itself: row c belongs to ``class_labels[c]``, the c-th smallest training
label. The table is an ``nn.Module`` holding that list as the buffer ``class_labels``, so it is saved beside the
parameters and a checkpoint of other classes can be recognised.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from daml_cli.errors import ConfigError, DataError


def sorted_class_labels(class_labels: Sequence[int] | int, owner: str) -> list[int]:
    """The distinct label values ascending (an int C means 0..C−1); ConfigError naming `owner` when empty."""
    if isinstance(class_labels, int):
        class_labels = range(class_labels)
    labels = sorted({int(label) for label in class_labels})
    if not labels:
        raise ConfigError(f"{owner} needs at least one training class", "the training split has no labels")
    return labels


class ClassRows(nn.Module):
    """The buffer ``class_labels`` (C,) ascending and `rows`, the label → row map; subclasses add the parameters.

    `owner` (e.g. ``proxy_anchor``) and `row_name` (e.g. ``proxy``) only word the error for an unknown label.
    """

    def __init__(self, class_labels: Sequence[int] | int, owner: str, row_name: str) -> None:
        super().__init__()
        self.owner, self.row_name = owner, row_name
        labels = sorted_class_labels(class_labels, owner)
        self.register_buffer("class_labels", torch.tensor(labels, dtype=torch.long))

    @property
    def num_classes(self) -> int:
        return int(self.class_labels.shape[0])

    def rows(self, labels: torch.Tensor) -> torch.Tensor:
        """The row of each label value; DataError for a label that has none."""
        table = self.class_labels.to(labels.device)
        labels = labels.reshape(-1).long()
        rows = torch.searchsorted(table, labels).clamp(max=table.shape[0] - 1)
        unknown = table[rows] != labels
        if bool(unknown.any()):
            label = int(labels[unknown][0])
            raise DataError(
                f"label {label} has no {self.row_name} ({self.owner} was built for {table.shape[0]} training classes)",
                f"build {self.owner} from the labels of the training split it trains on",
            )
        return rows

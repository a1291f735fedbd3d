"""HDML's two extra networks: the generator (embeddings → features) and the softmax classifier on features.

Both exist only during training; their weights travel in the objective's state. Initialisation follows the
authors' TF code: Glorot-uniform weights, zero biases; TF's BatchNorm epsilon (1e-3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from daml_cli.errors import CheckpointError
from daml_cli.losses.class_rows import ClassRows

GENERATOR_HIDDEN = 512  # the authors' hidden width


def _glorot(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class HdmlGenerator(nn.Sequential):
    """``y = Linear(512 → F)(BatchNorm(ReLU(Linear(d → 512)(z))))``: maps embeddings z (d) back to features (F).

    The order Linear → ReLU → BatchNorm is the authors' ``fc_block(is_relu, is_bn)``; the output layer has no
    activation, so a synthetic feature can take any value a real one can.
    """

    def __init__(self, embedding_dim: int, feature_dim: int, hidden: int = GENERATOR_HIDDEN) -> None:
        super().__init__(
            _glorot(nn.Linear(embedding_dim, hidden)),
            nn.ReLU(),
            nn.BatchNorm1d(hidden, eps=1e-3),
            _glorot(nn.Linear(hidden, feature_dim)),
        )


class SoftmaxClassifier(ClassRows):
    """``logits = W·y + b`` over the C training classes; row c of W belongs to the label ``class_labels[c]``.

    The manifest's label values (with gaps) map to rows through `rows` (losses/class_rows.py, shared with
    Proxy-Anchor's proxy table). State: ``class_labels``, ``linear.weight``, ``linear.bias``.
    """

    def __init__(self, class_labels: Sequence[int] | int, feature_dim: int) -> None:
        super().__init__(class_labels, owner="the hdml classifier", row_name="classifier row")
        self.linear = _glorot(nn.Linear(feature_dim, self.num_classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)

    def load_state_dict(self, state, strict: bool = True, assign: bool = False):  # type: ignore[no-untyped-def, override]
        """Restore the weights; CheckpointError when the checkpoint's classes are not this run's."""
        saved = state.get("class_labels")
        if saved is None or not torch.equal(torch.as_tensor(saved).cpu(), self.class_labels.cpu()):
            raise CheckpointError(
                "the checkpoint's HDML classifier belongs to other training classes than this run's",
                "resume with the same dataset and validation split",
            )
        return super().load_state_dict(state, strict=strict, assign=assign)

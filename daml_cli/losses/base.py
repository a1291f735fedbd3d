"""The contract every tuple loss follows, so DAML can swap real negatives for synthetic ones.

A loss works in three steps:

1. ``mine(labels, embeddings, rng)`` picks index tuples from a batch (a loss-specific ``Tuples`` object);
2. ``negative_slots(tuples)`` lists every negative those tuples use, one *slot* per use, each with the context
   the DAML generator needs: ``x̃ = G([x_negative; x_anchor; x_positive])``;
3. ``compute(embeddings, tuples, negatives)`` evaluates the loss. ``negatives`` holds one embedding per slot,
   in slot order; ``None`` means the real ones, ``embeddings[slots.negative]``. DAML passes the embeddings of
   synthetic negatives instead, so every base loss becomes its DAML version with no change of its own.

All reductions are means (per tuple; per batch item for Multi-Similarity, per proxy for Proxy-Anchor), so loss
weights do not depend on the batch size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class NegativeSlots:
    """Batch indices of each negative use: the generator input is ``[x[negative]; x[anchor]; x[positive]]``."""

    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor

    def __len__(self) -> int:
        return int(self.negative.shape[0])


@dataclass
class LossOutput:
    """A scalar loss plus its named terms (each a scalar tensor) for logging."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    num_tuples: int = 0


class TupleLoss(ABC):
    """A base metric-learning loss (triplet, N-pair, lifted structure, contrastive)."""

    name: ClassVar[str]

    @abstractmethod
    def mine(self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None) -> Any:
        """Index tuples for this batch; `embeddings` (detached) lets distance-based strategies choose."""

    @abstractmethod
    def negative_slots(self, tuples: Any) -> NegativeSlots:
        """Every negative the tuples use, in the order `compute` expects its `negatives` argument."""

    @abstractmethod
    def compute(self, embeddings: torch.Tensor, tuples: Any, negatives: torch.Tensor | None = None) -> LossOutput:
        """The loss on `embeddings` (B×D); `negatives` (S×D) replaces the real negatives slot by slot."""

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor, rng: torch.Generator | None = None) -> LossOutput:
        """Mine and compute on real negatives: the plain baseline loss."""
        tuples = self.mine(labels, embeddings.detach(), rng)
        return self.compute(embeddings, tuples)

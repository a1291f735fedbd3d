"""Triplet margin loss and its four negative-mining strategies.

Each ordered (anchor, positive) pair of a batch gets one or more negatives; every (a, p, n) triple is one
tuple and one negative slot, so DAML's generator makes one synthetic negative per triple.
"""

from __future__ import annotations

from typing import ClassVar, get_args

import torch

from daml_cli.config.schema import LossConfig, TripletStrategy
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.distances import pairwise_squared_euclidean, safe_sqrt
from daml_cli.losses.inputs import empty_loss, slot_squared_distances
from daml_cli.losses.mining import negative_mask, ordered_positive_pairs, random_pick, random_subset

STRATEGIES: tuple[str, ...] = get_args(TripletStrategy)


def triplet_hinge(d_ap_sq: torch.Tensor, d_an_sq: torch.Tensor, margin: float, squared: bool = True) -> torch.Tensor:
    """Per-tuple ``[d_ap − d_an + α]_+`` from squared distances; d = D² if `squared` else D (safe sqrt)."""
    if not squared:
        d_ap_sq, d_an_sq = safe_sqrt(d_ap_sq), safe_sqrt(d_an_sq)
    return torch.relu(d_ap_sq - d_an_sq + margin)


# A triple (anchor, positive, negative) is exactly one negative slot: the same record, not a copy of it.
TripletTuples = NegativeSlots


def official_triplets(labels: torch.Tensor) -> TripletTuples:
    """Triples ``(i, T + i, 2T + i)`` of a batch laid out as [anchors; positives; negatives] (B = 3T).

    Raises ConfigError when the labels do not have that layout (another sampler fed the batch).
    """
    size = int(labels.shape[0])
    count = size // 3
    index = torch.arange(count, device=labels.device)
    anchor, positive, negative = index, index + count, index + 2 * count
    if size % 3 or not bool((labels[anchor] == labels[positive]).all() and (labels[anchor] != labels[negative]).all()):
        raise ConfigError(
            "loss.triplets=official needs batches of [anchors; positives; negatives]", "set sampler.kind=triplets"
        )
    return TripletTuples(anchor, positive, negative)


class TripletLoss(TupleLoss):
    """Triplet margin loss; `strategy` picks the negatives of each ordered (anchor, positive) pair.

    - ``all``: every valid negative of the batch;
    - ``random``: `negatives_per_pair` negatives drawn uniformly without replacement;
    - ``semihard``: one negative drawn at random from ``d_ap < d_an < d_ap + α``; without one, the nearest
      negative farther than the positive; without that, the nearest negative;
    - ``easy``: the `negatives_per_pair` farthest negatives (DAML's premise: give the generator easy ones);
    - ``official``: the batch itself is T anchors, their T positives, then T negatives (``sampler.kind:
      triplets``, the authors' code); triple i is ``(i, T + i, 2T + i)``, one per anchor.

    Distances for semihard and easy are the loss's own (squared or not), so the window matches the margin.
    """

    name: ClassVar[str] = "triplet"

    def __init__(self, margin: float = 0.2, squared: bool = True, strategy: str = "semihard", negatives_per_pair: int = 1) -> None:
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown triplet strategy {strategy!r}", f"use one of {', '.join(STRATEGIES)}")
        if negatives_per_pair < 1:
            raise ConfigError(f"loss.negatives_per_pair must be >= 1, got {negatives_per_pair}")
        if margin < 0:
            raise ConfigError(f"loss.margin must be >= 0, got {margin}")
        self.margin = float(margin)
        self.squared = bool(squared)
        self.strategy = strategy
        self.negatives_per_pair = int(negatives_per_pair)

    @classmethod
    def from_config(cls, cfg: LossConfig) -> TripletLoss:
        return cls(cfg.margin, cfg.squared, cfg.triplets, cfg.negatives_per_pair)

    def mine(self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None) -> TripletTuples:
        labels = labels.reshape(-1)
        if self.strategy == "official":
            return official_triplets(labels)
        neg = negative_mask(labels)
        anchor, positive = ordered_positive_pairs(labels)
        has_negative = neg[anchor].any(dim=1)
        anchor, positive = anchor[has_negative], positive[has_negative]
        candidates = neg[anchor]  # (M, B): valid negatives of each pair's anchor
        if anchor.numel() == 0:
            return TripletTuples(anchor, positive, anchor.clone())
        if self.strategy == "all":
            pair, negative = candidates.nonzero(as_tuple=True)
            return TripletTuples(anchor[pair], positive[pair], negative)
        if self.strategy == "random":
            pair, negative = random_subset(candidates, self.negatives_per_pair, rng).nonzero(as_tuple=True)
            return TripletTuples(anchor[pair], positive[pair], negative)
        if embeddings is None:
            raise ValueError(f"triplet strategy {self.strategy!r} needs the batch embeddings to mine")
        dist = self._distances(embeddings.detach())
        d_an = dist[anchor]  # (M, B)
        if self.strategy == "easy":
            return self._easy(anchor, positive, candidates, d_an)
        return self._semihard(anchor, positive, candidates, d_an, dist[anchor, positive], rng)

    def _distances(self, embeddings: torch.Tensor) -> torch.Tensor:
        squared = pairwise_squared_euclidean(embeddings, embeddings)
        return squared if self.squared else squared.sqrt()

    def _easy(self, anchor: torch.Tensor, positive: torch.Tensor, candidates: torch.Tensor, d_an: torch.Tensor) -> TripletTuples:
        k = min(self.negatives_per_pair, candidates.shape[1])
        scores = d_an.masked_fill(~candidates, float("-inf"))
        values, columns = scores.topk(k, dim=1)
        pair, slot = torch.isfinite(values).nonzero(as_tuple=True)
        return TripletTuples(anchor[pair], positive[pair], columns[pair, slot])

    def _semihard(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        candidates: torch.Tensor,
        d_an: torch.Tensor,
        d_ap: torch.Tensor,
        rng: torch.Generator | None,
    ) -> TripletTuples:
        farther = candidates & (d_an > d_ap.unsqueeze(1))
        window = farther & (d_an < d_ap.unsqueeze(1) + self.margin)
        in_window, has_window = random_pick(window, rng)
        hardest_farther = d_an.masked_fill(~farther, float("inf")).argmin(dim=1)
        hardest = d_an.masked_fill(~candidates, float("inf")).argmin(dim=1)
        fallback = torch.where(farther.any(dim=1), hardest_farther, hardest)
        return TripletTuples(anchor, positive, torch.where(has_window, in_window, fallback))

    def negative_slots(self, tuples: TripletTuples) -> NegativeSlots:
        return tuples

    def compute(self, embeddings: torch.Tensor, tuples: TripletTuples, negatives: torch.Tensor | None = None) -> LossOutput:
        if len(tuples) == 0:
            zero = empty_loss(embeddings, negatives)
            return LossOutput(zero, {"triplet": zero, "active_fraction": zero.detach()}, 0)
        distances = pairwise_squared_euclidean(embeddings, embeddings)
        d_ap_sq = distances[tuples.anchor, tuples.positive]
        d_an_sq = slot_squared_distances(embeddings, distances, self.negative_slots(tuples), negatives)
        hinge = triplet_hinge(d_ap_sq, d_an_sq, self.margin, self.squared)
        loss = hinge.mean()
        active = (hinge.detach() > 0).to(loss.dtype).mean()
        return LossOutput(loss, {"triplet": loss, "active_fraction": active}, len(tuples))

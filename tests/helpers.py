"""Conveniences the tests call, built from the package's own pieces; nothing in `daml_cli` needs them.

Each wraps one engine function in the shape a test wants (one call for a whole loss, a k-NN search without
building the searcher) so the tests read as the formulas they check.
"""

from __future__ import annotations

import numpy as np
import torch

from daml_cli.losses.contrastive import contrastive_sums
from daml_cli.losses.daml_terms import adv_hinge
from daml_cli.losses.distances import euclidean, safe_sqrt, squared_euclidean
from daml_cli.losses.inputs import empty_loss
from daml_cli.losses.lifted import lifted_from_distances
from daml_cli.losses.triplet import triplet_hinge
from daml_cli.metrics.knn import ExactKnn, KnnResult


def contrastive(
    pos_a: torch.Tensor,
    pos_b: torch.Tensor,
    neg_a: torch.Tensor,
    neg_b: torch.Tensor,
    margin: float,
    squared: bool = True,
) -> torch.Tensor:
    """Per-pair mean ``(Σ_pos D(a, b)² + Σ_neg [α − D(a, b)²]_+) / (|pos| + |neg|)``; zero with no pair.

    Rows i of `pos_a`, `pos_b` form a positive pair, rows of `neg_a`, `neg_b` a negative one; with
    ``squared=False`` the plain distances are used.
    """
    total = pos_a.shape[0] + neg_a.shape[0]
    if total == 0:
        return empty_loss(pos_a, pos_b, neg_a, neg_b)
    pos_sq, neg_sq = squared_euclidean(pos_a, pos_b), squared_euclidean(neg_a, neg_b)
    pos_sum, neg_sum = contrastive_sums(pos_sq, neg_sq, margin, squared)
    return (pos_sum + neg_sum) / total


def triplet_margin(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float, squared: bool = True
) -> torch.Tensor:
    """Per-tuple mean triplet loss ``(1/N) Σ_i [D(a_i, p_i)² − D(a_i, n_i)² + α]_+``.

    Rows i of the (N, D) tensors form one triple. With ``squared=False`` the plain distances are used,
    ``[D(a, p) − D(a, n) + α]_+``. No triple gives a zero that keeps the inputs' graphs.
    """
    if anchor.shape[0] == 0:
        return empty_loss(anchor, positive, negative)
    return triplet_hinge(squared_euclidean(anchor, positive), squared_euclidean(anchor, negative), margin, squared).mean()


def lifted_structure(
    pair_i: torch.Tensor,
    pair_j: torch.Tensor,
    slot_anchor: torch.Tensor,
    slot_negative: torch.Tensor,
    slot_pair: torch.Tensor,
    margin: float,
) -> torch.Tensor:
    """``J = 1/(2|P|) Σ_(i,j)∈P [log(Σ_k exp(α − D(x_i, n_ik)) + Σ_l exp(α − D(x_j, n_jl))) + D(x_i, x_j)]_+²``.

    `pair_i`, `pair_j` (P, D) are the positive pairs' embeddings; slot s contributes ``α − D(slot_anchor_s,
    slot_negative_s)`` to the log-sum-exp of pair ``slot_pair_s``. D is the plain (non-squared) distance.
    """
    return lifted_from_distances(euclidean(pair_i, pair_j), euclidean(slot_anchor, slot_negative), slot_pair, margin)


def adv_active_fraction(synthetic_emb: torch.Tensor, anchor_emb: torch.Tensor, positive_emb: torch.Tensor, margin: float) -> float:
    """Fraction of tuples whose J_adv hinge is > 0 (0.0 with no tuple), for logging generator collapse."""
    if synthetic_emb.shape[0] == 0:
        return 0.0
    with torch.no_grad():
        hinge = adv_hinge(synthetic_emb, anchor_emb, positive_emb, margin)
        return float((hinge > 0).to(torch.float64).mean())


def knn_search(
    queries: np.ndarray,
    gallery: np.ndarray,
    k: int,
    *,
    exclude: np.ndarray | None = None,
    exclude_self: bool = False,
    chunk_size: int | None = None,
    device: str = "auto",
) -> KnnResult:
    """Exact k nearest gallery items of each query, nearest first, ties by gallery index.

    ``exclude_self=True`` is the all-against-all case (queries *are* the gallery): query i never returns
    gallery item i. It is a shorthand for ``exclude=arange(len(queries))``.
    """
    if exclude_self:
        if exclude is not None:
            raise ValueError("give either exclude or exclude_self, not both")
        if len(queries) != len(gallery):
            raise ValueError("exclude_self needs queries and gallery of the same length")
        exclude = np.arange(len(queries), dtype=np.int64)
    return ExactKnn(gallery, device=device, chunk_size=chunk_size).search(queries, k, exclude)

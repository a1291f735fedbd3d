"""Embedding Expansion (Ko & Gu, CVPR 2020): synthetic points between same-class embeddings, and the
hardest-positive / hardest-negative (HPHN) triplet loss that mines over real and synthetic points.

Partners. The batch holds pairs: rows 2m and 2m+1 share a class (a P×K batch with K even lays every class out
as K consecutive rows), so row i's partner is ``p(i) = i XOR 1`` (the authors' code). `partners` checks it.

Expansion. For each original eᵢ and k = 1..n (n = ``n_inner_pts``)

    x̄ₖ(i) = [k·e_{p(i)} + (n+1−k)·eᵢ] / (n+1)        (the point at t = k/(n+1) from eᵢ towards e_{p(i)})

re-L2-normalised ``x̄ / max(‖x̄‖, 1e-12)`` when `normalize` (the authors' ``ee_l2norm``; the eps turns the zero
midpoint of eᵢ = −e_{p(i)} into a zero row instead of NaN), labelled yᵢ. Output rows: [originals (B); group 1;
…; group n]. Duplicates: rows i and p(i) give the same point set (x̄ₖ(i) = x̄_{n+1−k}(p(i)), bitwise: the same
two products added in the other order), so every synthetic point appears twice. ``keep_duplicates=True`` keeps
both copies (the authors' layout, each group B rows); ``False`` keeps only the copies of the even rows (each
group B/2 rows). Hardest-pair mining does not care; losses that sum over pairs weight synthetic points double
with the copies.

HPHN triplet (authors' ``hphn_triplet.py``), on d(a, b) = sqrt(max(‖a‖² + ‖b‖² − 2aᵀb, 1e-12)) over all rows:

    d_ap(i) = max_{j < B, j ≠ i, y_j = yᵢ} d(eᵢ, e_j)                    (originals only)
    d_an(i) = min_{r ∈ A(i)} min_{c : y_c ≠ yᵢ} d(x_r, x_c)             (A(i) = i and the synthetic points of
                                                                         i's segment; c over every row)
    ℓᵢ = [d_ap(i) − d_an(i) + m]_+,   L = (1/B) Σᵢ ℓᵢ

The authors take A(i) = {i, i+B, …, i+nB}, the copies generated from i; the copies from p(i) are the same
points bitwise, so the value is the same (and ties share the gradient equally, which sums to the same). They
sum ℓ over the batch; we take the mean, as every loss here does. Their margin default is 1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from daml_cli.errors import ConfigError
from daml_cli.losses.distances import pairwise_squared_euclidean, safe_sqrt

NORM_EPS = 1e-12  # floor of a synthetic point's norm before re-normalising it


@dataclass(frozen=True)
class Expansion:
    """An expanded batch: `points` (N, D) and `labels` (N,), rows [originals; group 1; …; group n].

    ``source[r]`` is the original row point r was generated from (r itself for an original), ``group[r]`` its k
    (0 for an original), ``segment[r]`` = min(source, p(source)), the pair whose segment it lies on.
    """

    points: torch.Tensor
    labels: torch.Tensor
    source: torch.Tensor
    group: torch.Tensor
    segment: torch.Tensor
    num_real: int

    @property
    def real(self) -> torch.Tensor:
        """(N,) bool: the original rows."""
        return self.group == 0

    @property
    def synthetic_count(self) -> int:
        return int(self.points.shape[0]) - self.num_real


def partners(labels: torch.Tensor) -> torch.Tensor:
    """``p(i) = i XOR 1`` for a batch of pairs; ConfigError when the batch size is odd or a pair's labels differ."""
    labels = labels.reshape(-1)
    size = int(labels.shape[0])
    hint = "use sampler.kind=pk with an even sampler.images_per_class (classes as consecutive rows)"
    if size % 2:
        raise ConfigError(f"Embedding Expansion pairs rows 2m and 2m+1, but the batch has {size} rows", hint)
    partner = torch.arange(size, device=labels.device) ^ 1
    if not bool((labels[partner] == labels).all()):
        raise ConfigError("Embedding Expansion pairs rows 2m and 2m+1, but some such pair has two labels", hint)
    return partner


def expand(
    embeddings: torch.Tensor, labels: torch.Tensor, n_inner_pts: int, normalize: bool = True, keep_duplicates: bool = True
) -> Expansion:
    """The batch with n synthetic points per row (see the module docstring), gradients flowing into `embeddings`."""
    labels = labels.reshape(-1)
    size = int(embeddings.shape[0])
    partner = partners(labels)
    sources = torch.arange(size, device=labels.device)
    if not keep_duplicates:
        sources = sources[0::2]
    total = float(n_inner_pts + 1)
    own, other = embeddings[sources], embeddings[partner[sources]]
    rows, groups = [embeddings], [torch.zeros(size, dtype=torch.long, device=labels.device)]
    for k in range(1, n_inner_pts + 1):
        point = (other * float(k) + own * (total - k)) / total
        if normalize:
            point = point / point.norm(dim=1, keepdim=True).clamp_min(NORM_EPS)
        rows.append(point)
        groups.append(torch.full_like(sources, k))
    source = torch.cat([torch.arange(size, device=labels.device), *([sources] * n_inner_pts)])
    return Expansion(
        torch.cat(rows), labels[source], source, torch.cat(groups), torch.minimum(source, partner[source]), size
    )


def euclidean_matrix(points: torch.Tensor) -> torch.Tensor:
    """(N, N) ``sqrt(max(‖a‖² + ‖b‖² − 2aᵀb, 1e-12))`` between every two rows (the authors' distance)."""
    return safe_sqrt(pairwise_squared_euclidean(points, points))


def anchor_rows(expansion: Expansion) -> torch.Tensor:
    """(B, N) bool: ``[i, r]`` true for r ∈ A(i), i.e. r = i or r a synthetic point on i's segment."""
    rows = torch.arange(expansion.num_real, device=expansion.labels.device)
    own_segment = expansion.segment[: expansion.num_real]
    synthetic_on_segment = (expansion.segment.unsqueeze(0) == own_segment.unsqueeze(1)) & ~expansion.real.unsqueeze(0)
    return synthetic_on_segment | (rows.unsqueeze(1) == torch.arange(expansion.points.shape[0], device=rows.device))


@dataclass(frozen=True)
class HardestPairs:
    """Per original i: ``d_ap``, ``d_an`` (B,) and whether d_an's pair involves a synthetic point (B,) bool."""

    d_ap: torch.Tensor
    d_an: torch.Tensor
    synthetic: torch.Tensor


def hardest_pairs(expansion: Expansion, synthetic_anchors: bool = True) -> HardestPairs:
    """HPHN mining: d_ap among originals, d_an over A(i) × every row of another label (A(i) = {i} when
    `synthetic_anchors` is off, i.e. only i against real and synthetic negatives)."""
    dist = euclidean_matrix(expansion.points)
    labels, size = expansion.labels, expansion.num_real
    block = dist[:size, :size]
    same = labels[:size].unsqueeze(0) == labels[:size].unsqueeze(1)
    positive = same & ~torch.eye(size, dtype=torch.bool, device=labels.device)
    d_ap = block.masked_fill(~positive, float("-inf")).amax(dim=1)
    negative = labels.unsqueeze(0) != labels.unsqueeze(1)
    row_min, column = dist.masked_fill(~negative, float("inf")).min(dim=1)  # per row r: its nearest negative
    members = anchor_rows(expansion) if synthetic_anchors else torch.eye(size, dist.shape[0], dtype=torch.bool, device=labels.device)
    d_an, row = row_min.unsqueeze(0).masked_fill(~members, float("inf")).min(dim=1)
    synthetic = ~expansion.real[row] | ~expansion.real[column[row]]
    return HardestPairs(d_ap, d_an, synthetic)


def hphn_hinge(expansion: Expansion, margin: float) -> torch.Tensor:
    """Per original i: ``ℓᵢ = [d_ap(i) − d_an(i) + m]_+`` (B,)."""
    pairs = hardest_pairs(expansion)
    return torch.relu(pairs.d_ap - pairs.d_an + margin)


def synthetic_source_cosine(expansion: Expansion) -> torch.Tensor:
    """Mean ``cos(x̄_r, e_{source(r)})`` over the synthetic rows (1 for a batch without any): how far the synthetic
    points move from the embedding they were generated from (t = k/(n+1) of the way to the partner)."""
    synthetic = ~expansion.real
    if not bool(synthetic.any()):
        return expansion.points.new_ones(())
    points = expansion.points[synthetic]
    origin = expansion.points[expansion.source[synthetic]]
    cosine = (points * origin).sum(dim=1) / (points.norm(dim=1) * origin.norm(dim=1)).clamp_min(NORM_EPS)
    return cosine.mean()

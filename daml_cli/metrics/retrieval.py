"""Retrieval metrics computed from the class labels of each query's ranked neighbours.

Inputs, shared by every function:

- ``neighbour_labels``: (Q, k) labels of the k nearest gallery items of each query, nearest first. The query
  itself must already be removed. Places with no neighbour hold a label that matches no query (e.g. −1).
- ``query_labels``: (Q,) the label of each query.
- ``r``: (Q,) for MAP@R and R-precision, how many gallery items share the query's label (not counting the
  query itself). Every entry must be ≥ 1 and ≤ k: queries whose class has no other item are undefined for
  these metrics and must be dropped by the caller (the ``evaluate`` module does so and counts them).

``rel(i)`` below is 1 when the i-th neighbour (1-based) has the query's label, else 0.
Each metric is given per query (one value per query, so a caller can sum over chunks and divide by the number
of queries): ``Recall@K = mean_q hit_K(q)``, ``MAP@R = mean_q AP@R(q)``, ``R-precision = mean_q RP(q)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def relevance(neighbour_labels: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    """(Q, k) boolean matrix ``rel``: True where a neighbour has the query's label."""
    nl = np.asarray(neighbour_labels)
    ql = np.asarray(query_labels)
    if nl.ndim != 2 or ql.shape != (nl.shape[0],):
        raise ValueError(f"need (Q, k) neighbour labels and (Q,) query labels, got {nl.shape} and {ql.shape}")
    return nl == ql[:, None]


def _check_r(r: np.ndarray, q: int, k: int) -> np.ndarray:
    r = np.asarray(r, dtype=np.int64)
    if r.shape != (q,):
        raise ValueError(f"r must have one entry per query, got shape {r.shape}")
    if q and (r.min() < 1 or r.max() > k):
        raise ValueError(f"every r must lie in 1..k={k} (got {r.min()}..{r.max()}); drop queries with r = 0")
    return r


def recall_at_k_per_query(
    neighbour_labels: np.ndarray, query_labels: np.ndarray, ks: Sequence[int]
) -> dict[int, np.ndarray]:
    """For each K: ``hit_K(q) = 1 if any(rel(i) for i ≤ K) else 0`` (K larger than k is cut to k)."""
    rel = relevance(neighbour_labels, query_labels)
    has_hit = rel.any(axis=1)
    first = np.where(has_hit, rel.argmax(axis=1), np.iinfo(np.int64).max)  # 0-based rank of the first hit
    out: dict[int, np.ndarray] = {}
    for k in ks:
        if k < 1:
            raise ValueError(f"K must be >= 1, got {k}")
        out[int(k)] = first < k
    return out


def average_precision_at_r_per_query(
    neighbour_labels: np.ndarray, query_labels: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """``AP@R(q) = (1/R) Σ_{i=1..R} P(i)·rel(i)`` with ``P(i) = (1/i) Σ_{j≤i} rel(j)`` (Musgrave et al. 2020).

    Only the first R neighbours count, and the divisor is R, not the number of hits.
    """
    rel = relevance(neighbour_labels, query_labels)
    r = _check_r(r, rel.shape[0], rel.shape[1])
    width = int(r.max()) if r.size else 0
    rel = rel[:, :width]
    ranks = np.arange(1, width + 1)
    in_r = ranks[None, :] <= r[:, None]
    rel = rel & in_r
    precision = np.cumsum(rel, axis=1) / ranks[None, :]
    return (precision * rel).sum(axis=1) / r


def r_precision_per_query(
    neighbour_labels: np.ndarray, query_labels: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """``RP(q) = (1/R) Σ_{i=1..R} rel(i)``: the share of same-class items among the R nearest."""
    rel = relevance(neighbour_labels, query_labels)
    r = _check_r(r, rel.shape[0], rel.shape[1])
    width = int(r.max()) if r.size else 0
    in_r = np.arange(1, width + 1)[None, :] <= r[:, None]
    return (rel[:, :width] & in_r).sum(axis=1) / r

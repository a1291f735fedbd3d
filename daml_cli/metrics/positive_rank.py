"""Where the first same-class item falls in a query's full ranking, without listing the items before it.

Recall@K only asks whether a query's nearest same-class item ("positive") is among its K nearest. That is
``rank < K`` with

    rank(q) = #{ g ≠ excluded(q) : (d(q, g), g) < (d(q, p*), p*) },   p* = argmin over positives of (d, index)

the 0-based place of the first positive in the ranking that ``knn.ExactKnn`` produces (ascending distance,
ties to the lower gallery index). ``rank`` needs one comparison per gallery item, where a top-K list costs a
selection over it: for K = 1000 the difference is most of the search's time.

Distances are ranked by the same float32 value as ``knn.ExactKnn``: ``||g||² − 2 q·g`` with ``−2q`` scaled
first (``||q||²`` is a per-query constant and does not change a rank). Queries run in blocks of
``chunk_rows`` on ``workers`` threads, each with a single-threaded BLAS product.
"""

from __future__ import annotations

import threading

import numpy as np

from daml_cli.metrics.knn import _as_float32
from daml_cli.metrics.workers import default_workers, run_all, single_threaded_blas

DEFAULT_CHUNK_ROWS = 512


def same_class_items(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), m) indices of the *other* items with the label ``codes[row]``, −1 padded; m = the
    largest class size minus one (at least 1)."""
    codes = np.asarray(codes, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    first = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[first, codes.size])
    start_of = np.empty(codes.size, dtype=np.int64)
    size_of = np.empty(codes.size, dtype=np.int64)
    start_of[order] = np.repeat(first, sizes)
    size_of[order] = np.repeat(sizes, sizes)
    width = int(sizes.max()) if sizes.size else 1
    slot = np.arange(width)[None, :]
    members = order[np.minimum(start_of[rows, None] + slot, codes.size - 1)]
    members = np.where(slot < size_of[rows, None], members, -1)
    members[members == rows[:, None]] = -1
    # Move the padding to the end of each row and drop the last column (the row itself is always one of them).
    members = -np.sort(-members, axis=1) if width > 1 else members
    return members[:, : max(1, width - 1)]


def first_positive_ranks(
    gallery: np.ndarray,
    queries: np.ndarray,
    positives: np.ndarray,
    exclude: np.ndarray | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int | None = None,
) -> np.ndarray:
    """``rank(q)`` (module docstring) for every query; −1 for a query without any positive.

    ``positives``: (Q, m) gallery indices of each query's same-class items, −1 padded. ``exclude``: (Q,) one
    gallery index per query that does not exist for it (its own copy), or −1.
    """
    g = _as_float32(gallery, "gallery")
    q = _as_float32(queries, "queries")
    pos = np.asarray(positives, dtype=np.int64)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]}, the gallery {g.shape[1]}")
    if pos.ndim != 2 or pos.shape[0] != q.shape[0]:
        raise ValueError(f"positives must be (queries, m), got shape {pos.shape}")
    if pos.size and pos.max() >= g.shape[0]:
        raise ValueError("a positive index lies outside the gallery")
    excl = np.full(q.shape[0], -1, np.int64) if exclude is None else np.asarray(exclude, dtype=np.int64)
    if excl.shape != (q.shape[0],):
        raise ValueError(f"exclude must have one entry per query, got shape {excl.shape}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    workers = default_workers() if workers is None else max(1, int(workers))
    n = g.shape[0]
    g_sq = np.einsum("ij,ij->i", g, g).astype(np.float32)
    out = np.full(q.shape[0], -1, dtype=np.int64)
    local = threading.local()

    def chunk(start: int) -> None:
        stop = min(start + chunk_rows, q.shape[0])
        if not hasattr(local, "buf"):
            local.buf = np.empty(min(chunk_rows, q.shape[0]) * n, np.float32)
        values = local.buf[: (stop - start) * n].reshape(stop - start, n)
        np.matmul(q[start:stop] * np.float32(-2.0), g.T, out=values)
        values += g_sq[None, :]
        rows = np.arange(stop - start)
        ex = excl[start:stop]
        has_ex = ex >= 0
        values[rows[has_ex], ex[has_ex]] = np.inf
        p = pos[start:stop]
        valid = p >= 0  # the excluded item's value is inf: it never is the best
        p_val = np.where(valid, np.take_along_axis(values, np.maximum(p, 0), axis=1), np.inf)
        best = p_val.min(axis=1)
        found = valid.any(axis=1) & np.isfinite(best)
        best_index = np.where(valid & (p_val == best[:, None]), p, np.iinfo(np.int64).max).min(axis=1)
        below = np.count_nonzero(values < best[:, None], axis=1)
        equal = np.count_nonzero(values == best[:, None], axis=1)
        for row in np.flatnonzero(found & (equal > 1)):  # exact ties with the first positive: lower index first
            below[row] += int(np.count_nonzero(np.flatnonzero(values[row] == best[row]) < best_index[row]))
        out[start:stop] = np.where(found, below, -1)

    with single_threaded_blas(workers):
        run_all(chunk, range(0, q.shape[0], chunk_rows), workers)
    return out

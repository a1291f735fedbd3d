"""Exact all-against-all k-NN that computes each product block once and uses it for both of its sides.

When the queries *are* the gallery (``x`` against ``x``, each item excluded from its own list) the matrix of
products ``x xᵀ`` is symmetric. Rows are cut into blocks ``0 .. nb−1``; only blocks ``P_ab = (−2 x_a) x_bᵀ``
with ``b ≥ a`` are multiplied, about half of the full product's ``N² · D`` multiply-adds. ``P_ab`` serves
the rows of block a (``P_ab + ||x_b||²``, column-wise) and, read by columns, the rows of block b
(``P_ab + ||x_a||²``, row-wise): no transpose is ever copied.

Keeping each row's k best (``TopLists``): the diagonal blocks come first and give every row an exact top-k
of its own block. After that a row's current k-th value is a threshold that only falls; an off-diagonal
block is compared with the thresholds of both of its sides (two vectorised comparisons, on the raw product
with a rounding-safe limit when the block's norms are nearly equal, as for normalised embeddings), and only
the entries at or under them (a few per row once the first blocks are in) are merged into the lists, exactly
by (value, index). Block pairs run on ``workers`` threads, each with a single-threaded BLAS product
(``metrics/workers.py``), so the comparisons of one block overlap the product of the next; merges hold a lock. A
stale threshold read while another thread merges is still an upper bound of the row's final k-th value, so
no entry that belongs to the answer is ever filtered out.

Same answer as ``knn.ExactKnn`` (see its module docstring), by construction:

- ranking value: the float32 ``||g||² − 2 q·g`` (``−2q`` scaled first, which is exact); ``||q||²`` is added
  to the k kept values only (clamped at 0);
- ties, also at the k-th place, go to the lower gallery index (lists are merged by (value, index));
- the query's own index is removed by index (its diagonal entry is ``inf``), so an exact duplicate is still
  found; missing places (k ≥ N) are −1 / ``inf``.

Only the BLAS summation order can differ from the one-sided search, so a value can differ in its last
float32 bit. FAISS, when importable, provides the heap that ranks each diagonal block; without it
``torch.topk`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch

from daml_cli.metrics.knn import KnnResult, _as_float32, order_by_distance_then_index, torch_topk_block
from daml_cli.metrics.workers import default_workers, run_all, single_threaded_blas

DEFAULT_BLOCK_ROWS = 4096  # a 4096 × 4096 float32 block is 64 MiB; each worker holds two
NORM_SPREAD = 0.01  # relative spread of a block's squared norms up to which the raw product is filtered
FLT_MAX = float(np.finfo(np.float32).max)
NO_INDEX = np.iinfo(np.int64).max  # sorts behind every real index


def available() -> bool:
    """True when FAISS (which provides the heap array) can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class TopLists:
    """Each row's k smallest (value, index) pairs seen so far, ascending; (FLT_MAX, −1) where none yet."""

    def __init__(self, n: int, k: int) -> None:
        self.k = k
        self.values = np.full((n, k), FLT_MAX, dtype=np.float32)
        self.indices = np.full((n, k), -1, dtype=np.int64)
        self.lock = threading.Lock()

    def thresholds(self, r0: int, r1: int) -> np.ndarray:
        """Current k-th value of rows r0..r1: an entry above it can no longer enter the row's list."""
        return self.values[r0:r1, self.k - 1].copy()

    def set_rows(self, r0: int, values: np.ndarray, indices: np.ndarray) -> None:
        """Write the exact top-k of rows r0.. (ascending, ties by index) from their first block."""
        self.values[r0 : r0 + len(values)] = values
        self.indices[r0 : r0 + len(values)] = indices

    def merge(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Merge candidate entries (``rows`` ascending) into the lists, keeping the k best by (value, index)."""
        if rows.size == 0:
            return
        k = self.k
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        counts = np.diff(np.r_[starts, rows.size])
        group = np.repeat(np.arange(starts.size), counts)
        slot = k + np.arange(rows.size) - starts[group]
        width = k + int(counts.max())
        with self.lock:
            touched = rows[starts]
            v = np.full((touched.size, width), np.inf, dtype=np.float32)
            i = np.full((touched.size, width), NO_INDEX, dtype=np.int64)
            v[:, :k] = self.values[touched]
            i[:, :k] = np.where(self.indices[touched] < 0, NO_INDEX, self.indices[touched])
            v[group, slot] = vals
            i[group, slot] = cols
            sv, order = torch.sort(torch.from_numpy(v), dim=1, stable=True)
            si = torch.from_numpy(i).gather(1, order)
            # Equal values are not yet ordered by index (a candidate may beat a kept entry it ties with,
            # also across the k-th place): order those rows by (value, index) before cutting at k.
            head = min(k + 1, width)
            tied = torch.nonzero((sv[:, 1:head] == sv[:, : head - 1]).any(dim=1)).flatten()
            if tied.numel():
                sv[tied], si[tied] = order_by_distance_then_index(sv[tied], si[tied])
            v, i = sv[:, :k].numpy(), si[:, :k].numpy()
            self.values[touched] = v
            self.indices[touched] = np.where(i == NO_INDEX, -1, i)


def _block_top(block: np.ndarray, k: int, col0: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of each row of ``block`` by (value, column), columns offset by ``col0``; padded with
    (FLT_MAX, −1) when the block is narrower than k. Entries equal to ``inf`` never count."""
    rows, cols = block.shape
    out_v = np.full((rows, k), FLT_MAX, dtype=np.float32)
    out_i = np.full((rows, k), -1, dtype=np.int64)
    if available():
        import faiss

        heaps = faiss.float_maxheap_array_t()
        heaps.k, heaps.nh = k, rows
        heaps.val, heaps.ids = faiss.swig_ptr(out_v), faiss.swig_ptr(out_i)
        heaps.heapify()
        # Columns are offered in ascending order and only a strictly smaller value enters: ties keep the
        # lower index. The heap is then sorted ascending and equal values ordered by index.
        heaps.addn(cols, faiss.swig_ptr(np.ascontiguousarray(block)), col0, 0, rows)
        heaps.reorder()
        v, i = order_by_distance_then_index(torch.from_numpy(out_v), torch.from_numpy(out_i))
        return v.numpy(), i.numpy()
    kk = min(k, cols)
    v, i = torch_topk_block(torch.from_numpy(block), kk)
    out_v[:, :kk], out_i[:, :kk] = v.numpy(), i.numpy() + col0
    missing = ~np.isfinite(out_v[:, :kk])
    out_v[:, :kk][missing], out_i[:, :kk][missing] = FLT_MAX, -1
    return out_v, out_i


def _filter_side(product: np.ndarray, mask: np.ndarray, limits: np.ndarray, norms: np.ndarray,
                 norms_on_columns: bool, spare: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Mask of the entries whose value ``product + norms`` is at or under ``limits``, or a superset of them.

    ``norms_on_columns``: the values are ``product[i, j] + norms[j]`` and ``limits`` has one entry per row
    (the rows of block a); otherwise ``product[i, j] + norms[i]`` with one limit per column (block b). With
    nearly equal norms (normalised embeddings) the raw product is compared with a rounding-safe limit
    (``_product_limits``); otherwise the values are formed first in ``spare(rows, cols)`` (one more pass),
    so that varied norms cannot flood the merge. Entries *equal* to a limit pass: a lower index can still win
    the tie.
    """
    limit_axis = (slice(None), None) if norms_on_columns else (None, slice(None))
    if _norms_vary(norms):
        values = spare(*product.shape)
        np.add(product, norms[None, :] if norms_on_columns else norms[:, None], out=values)
        return np.less_equal(values, limits[limit_axis], out=mask)
    return np.less_equal(product, _product_limits(limits, norms)[limit_axis], out=mask)


def _norms_vary(sq: np.ndarray) -> bool:
    """True when a block's squared norms spread over more than ``NORM_SPREAD`` of the largest: then the
    loose limit of ``_product_limits`` (which assumes the smallest norm for every column) would pass too
    many entries, and the values are formed before comparing."""
    low, high = float(sq.min()), float(sq.max())
    return high - low > NORM_SPREAD * high


def _product_limits(thresholds: np.ndarray, other_sq: np.ndarray) -> np.ndarray:
    """Limits on a raw product ``p = −2 x_i·x_j`` that every entry with ``fl(p + ||x_j||²) ≤ threshold``
    passes, whatever j of the block: ``threshold − min_j ||x_j||²`` plus a rounding margin, rounded up.

    Margin: ``fl(p + s) = (p + s)(1 + δ)`` with ``|δ| ≤ 2⁻²⁴``, so ``fl(p + s) ≤ t`` gives
    ``p ≤ t − s + 2⁻²³ |t|``; the margin below is four times that, plus ``2⁻²¹ max s`` for t near 0.
    The limit is computed in float64 and rounded up to the next float32.
    """
    t = thresholds.astype(np.float64)
    limits = t - float(other_sq.min()) + 2.0**-21 * (np.abs(t) + float(other_sq.max()))
    with np.errstate(over="ignore"):  # a row with fewer than k entries so far: FLT_MAX -> inf, all pass
        return np.nextafter(limits.astype(np.float32), np.float32(np.inf))


def symmetric_knn(x: np.ndarray, k: int, *, block_rows: int = DEFAULT_BLOCK_ROWS,
                  workers: int | None = None) -> KnnResult:
    """The min(k, N) nearest *other* items of every row of ``x`` (N × D), nearest first, ties by index.

    Equal to ``ExactKnn(x, device="cpu").search(x, k, exclude=arange(N))`` (see the module docstring) at about
    half the multiply-adds. Memory: the lists (N × k float32 values and int64 indices) plus, per worker, a
    ``block_rows²`` float32 product block, a boolean mask of that size and, when a block's norms vary, a
    second float32 block. CPU only (the product comes from numpy's BLAS, as in
    ``ExactKnn``). ``workers``: threads (default ``default_workers()``).
    """
    data = _as_float32(x, "embeddings")
    n = data.shape[0]
    if n == 0:
        raise ValueError("the gallery is empty")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    k = min(k, n)
    workers = default_workers() if workers is None else max(1, int(workers))
    sq = np.einsum("ij,ij->i", data, data).astype(np.float32)
    scaled = data * np.float32(-2.0)  # exact: the product equals −2 (x_a · x_b) in float32
    lists = TopLists(n, k)
    starts = list(range(0, n, block_rows))
    side = min(block_rows, n)
    local = threading.local()

    def buffers(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(local, "block"):
            local.block, local.mask = np.empty(side * side, np.float32), np.empty(side * side, bool)
        shape = (rows, cols)
        return local.block[: rows * cols].reshape(shape), local.mask[: rows * cols].reshape(shape)

    def diagonal(a0: int) -> None:
        a1 = min(a0 + block_rows, n)
        row_side, _ = buffers(a1 - a0, a1 - a0)
        np.matmul(scaled[a0:a1], data[a0:a1].T, out=row_side)
        row_side += sq[None, a0:a1]
        np.fill_diagonal(row_side, np.inf)
        lists.set_rows(a0, *_block_top(row_side, k, a0))

    def spare(rows: int, cols: int) -> np.ndarray:
        if not hasattr(local, "spare"):
            local.spare = np.empty(side * side, np.float32)
        return local.spare[: rows * cols].reshape(rows, cols)

    def pair(a0: int, b0: int) -> None:
        a1, b1 = min(a0 + block_rows, n), min(b0 + block_rows, n)
        product, mask = buffers(a1 - a0, b1 - b0)
        np.matmul(scaled[a0:a1], data[b0:b1].T, out=product)  # −2 x_i·x_j, i in block a, j in block b
        # Rows of block a: value product + ||x_j||² (a superset filter, then the exact test on survivors).
        limits_a = lists.thresholds(a0, a1)
        r, c = np.divmod(np.flatnonzero(_filter_side(product, mask, limits_a, sq[b0:b1], True, spare)), b1 - b0)
        vals = product[r, c] + sq[b0 + c]
        keep = vals <= limits_a[r]
        a_rows, a_cols, a_vals = a0 + r[keep], b0 + c[keep], vals[keep]
        # Rows of block b are its columns: value product + ||x_i||².
        limits_b = lists.thresholds(b0, b1)
        r, c = np.divmod(np.flatnonzero(_filter_side(product, mask, limits_b, sq[a0:a1], False, spare)), b1 - b0)
        order = np.argsort(c, kind="stable")  # group by column = row of block b, ascending row index inside
        r, c = r[order], c[order]
        vals = product[r, c] + sq[a0 + r]
        keep = vals <= limits_b[c]
        b_rows, b_cols, b_vals = b0 + c[keep], a0 + r[keep], vals[keep]
        lists.merge(a_rows, a_cols, a_vals)
        lists.merge(b_rows, b_cols, b_vals)

    pairs = [(a0, b0) for i, a0 in enumerate(starts) for b0 in starts[i + 1 :]]
    with single_threaded_blas(workers):
        run_all(diagonal, starts, workers)  # every row has its first k before any threshold is read
        run_all(lambda ab: pair(*ab), pairs, workers)

    values, indices = lists.values, lists.indices
    missing = (indices < 0) | (values >= FLT_MAX)
    dist = values + sq[:, None]
    np.maximum(dist, 0.0, out=dist)
    dist[missing] = np.inf
    indices[missing] = -1
    return KnnResult(indices, dist, f"torch-cpu (symmetric, {workers} worker{'s' if workers > 1 else ''})")

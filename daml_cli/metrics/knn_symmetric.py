"""Exact all-against-all k-NN that computes each product block once and uses it for both of its sides.

When the queries *are* the gallery (``x`` against ``x``, each item excluded from its own list) the matrix of
products ``x xᵀ`` is symmetric. Rows are cut into blocks ``0 .. nb−1``; only blocks ``P_ab = −2 x_a x_bᵀ``
with ``b ≥ a`` are multiplied, about half of the full product's ``N² · D`` multiply-adds. ``P_ab`` serves
the rows of block a (``P_ab + ||x_b||²``) and, transposed, the rows of block b (``P_abᵀ + ||x_a||²``).

Every row keeps a running top-k in a FAISS max-heap array (``faiss.float_maxheap_array_t``, the structure
behind ``faiss.ResultHeap``): a new value costs one comparison with the heap's top unless it is smaller, so
after the first blocks nearly every entry is rejected at memory speed (compare ``torch.topk`` over each
block, which costs more than the product itself on the CPU).

Same answer as ``knn.ExactKnn`` (see its module docstring), by construction:

- ranking value: the float32 ``||g||² − 2 q·g``; ``||q||²`` is added to the k kept values only (clamped at 0);
- ties, also at the k-th place, go to the lower gallery index: the heap admits a value only when it is
  strictly smaller than its current k-th, and the loop order (row block a, then column blocks b = a, a+1, …)
  hands every row its columns in ascending index order, so among equal values the first (lowest) index
  stays; the kept list is finally ordered by (value, index);
- the query's own index is removed by index (its diagonal entry is set to ``inf``, which the heap, starting
  from FLT_MAX, never admits), so an exact duplicate is still found; missing places are −1 / ``inf``.

Only the BLAS summation order can differ from the one-sided search, so a value can differ in its last
float32 bit. FAISS is required (``available()``); callers fall back to ``ExactKnn`` without it.
"""

from __future__ import annotations

import numpy as np
import torch

from daml_cli.metrics.knn import KnnResult, _as_float32, torch_topk_block

DEFAULT_BLOCK_ROWS = 4096  # a 4096 × 4096 float32 block is 64 MiB; two live at once
FLT_MAX = float(np.finfo(np.float32).max)


def available() -> bool:
    """True when FAISS (which provides the heap array) can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def symmetric_knn(x: np.ndarray, k: int, *, block_rows: int = DEFAULT_BLOCK_ROWS) -> KnnResult:
    """The min(k, N) nearest *other* items of every row of ``x`` (N × D), nearest first, ties by index.

    Equal to ``knn_search(x, x, k, exclude_self=True, device="cpu")`` (see the module docstring) at about
    half the multiply-adds. Memory: the heaps (N × k float32 values and int64 indices) plus two
    ``block_rows²`` float32 blocks. CPU only (the product comes from numpy's BLAS, as in ``ExactKnn``).
    """
    import faiss

    data = _as_float32(x, "embeddings")
    n = data.shape[0]
    if n == 0:
        raise ValueError("the gallery is empty")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    k = min(k, n)
    sq = np.einsum("ij,ij->i", data, data).astype(np.float32)
    scaled = data * np.float32(-2.0)  # exact: the product equals −2 (x_a · x_b) in float32
    values = np.empty((n, k), dtype=np.float32)
    indices = np.empty((n, k), dtype=np.int64)
    heaps = faiss.float_maxheap_array_t()
    heaps.k, heaps.nh = k, n
    heaps.val, heaps.ids = faiss.swig_ptr(values), faiss.swig_ptr(indices)
    if min(block_rows, n) < k:  # else every row's heap is written whole from its first block (see _add)
        heaps.heapify()  # every value FLT_MAX, every index −1
    starts = list(range(0, n, block_rows))
    other = np.empty((min(block_rows, n), min(block_rows, n)), dtype=np.float32)  # contiguous: side_b views

    for a0 in starts:
        a1 = min(a0 + block_rows, n)
        for b0 in starts[starts.index(a0):]:
            b1 = min(b0 + block_rows, n)
            block = np.matmul(scaled[a0:a1], data[b0:b1].T)  # (a rows) × (b columns)
            if b0 != a0:  # rows of block b: the transpose plus ||x_a||², written once in row order
                side_b = other.reshape(-1)[: (b1 - b0) * (a1 - a0)].reshape(b1 - b0, a1 - a0)
                torch.from_numpy(side_b).copy_(torch.from_numpy(block).T)  # tiled, unlike numpy's
                side_b += sq[None, a0:a1]
                _add(heaps, values, indices, side_b, b0, a0, k)
            block += sq[None, b0:b1]
            if b0 == a0:
                np.fill_diagonal(block, np.inf)
            _add(heaps, values, indices, block, a0, b0, k)
    heaps.reorder()  # ascending by value
    _order_ties_by_index(values, indices)
    missing = (indices < 0) | (values >= FLT_MAX)
    dist = values + sq[:, None]
    np.maximum(dist, 0.0, out=dist)
    dist[missing] = np.inf
    indices[missing] = -1
    return KnnResult(indices, dist, "torch-cpu (symmetric, faiss heaps)")


def _add(heaps: object, values: np.ndarray, indices: np.ndarray, part: np.ndarray, r0: int, c0: int, k: int) -> None:
    """Offer ``part`` (rows r0.. against columns c0.., C-contiguous) to the heaps of its rows.

    Column block 0 is every row's first (see the loop order): there the heaps are empty and filling them one
    value at a time costs k·log k sift steps per row, more than the product. Instead the block's exact
    top-k (by value, then index: ``torch_topk_block``) is written in descending order, which is a valid
    max-heap. Later blocks go through ``addn``: one comparison per entry, a sift only for the few admitted.
    """
    rows, cols = part.shape
    if c0 == 0 and cols >= k:
        top_v, top_i = torch_topk_block(torch.from_numpy(part), k)
        values[r0 : r0 + rows] = top_v.numpy()[:, ::-1]
        indices[r0 : r0 + rows] = top_i.numpy()[:, ::-1]
        return
    import faiss

    heaps.addn(cols, faiss.swig_ptr(part), c0, r0, rows)


def _order_ties_by_index(values: np.ndarray, indices: np.ndarray) -> None:
    """Within each row (already sorted by value), order equal values by index, in place.

    FAISS's heap pops equal values by id already; this re-checks cheaply and fixes only rows where an
    equal-value pair is out of index order (stable sort on index, then on value). Missing places (index
    −1, value FLT_MAX) sort behind every real one.
    """
    key = np.where(indices < 0, np.iinfo(np.int64).max, indices)
    bad = np.flatnonzero(((values[:, 1:] == values[:, :-1]) & (key[:, 1:] < key[:, :-1])).any(axis=1))
    if bad.size == 0:
        return
    v, i, kk = values[bad], indices[bad], key[bad]
    order = np.argsort(kk, axis=1, kind="stable")
    v, i = np.take_along_axis(v, order, 1), np.take_along_axis(i, order, 1)
    order = np.argsort(v, axis=1, kind="stable")
    values[bad], indices[bad] = np.take_along_axis(v, order, 1), np.take_along_axis(i, order, 1)

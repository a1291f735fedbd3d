"""The FAISS flat-index (exact L2) path of the k-NN search, on GPU (sharded over all GPUs) or CPU.

FAISS returns the k smallest squared L2 distances but orders equal distances however it likes. To give the
same answer as the torch path (ties by gallery index, exclusions by index) this module

1. asks for up to two extra columns: one for the excluded item, one to see whether the k-th distance ties
   with the next one;
2. drops the excluded index, then sorts each row by (distance, index);
3. redoes rows where the k-th and (k+1)-th distances are equal with an exact stable sort on the CPU (such
   ties are rare outside exact duplicates).

``faiss`` is imported only when this module is used.
"""

from __future__ import annotations

import numpy as np

from daml_cli.index.gpu import GPU_MAX_K, shard_over_gpus


class FaissFlatSearcher:
    """An ``IndexFlatL2`` holding the gallery; ``search`` answers one chunk of queries."""

    def __init__(self, gallery: np.ndarray, *, gpu: bool) -> None:
        import faiss

        self.gallery = gallery
        self.n = gallery.shape[0]
        index = faiss.IndexFlatL2(gallery.shape[1])
        self.gpus = 0
        if gpu:
            index = shard_over_gpus(faiss, index)
            self.gpus = int(faiss.get_num_gpus())
        index.add(gallery)
        self.index = index
        self.max_k: int | None = GPU_MAX_K if gpu else None  # None: no limit (the CPU index)
        self._g_sq: np.ndarray | None = None

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k (≤ gallery size) nearest gallery items of each query, −1/inf where none is left."""
        if exclude is not None and not np.any(exclude >= 0):
            exclude = None
        want = min(k + (1 if exclude is not None else 0) + 1, self.n)
        dist, idx = self.index.search(queries, want)
        dist = dist.astype(np.float32, copy=True)
        idx = idx.astype(np.int64, copy=True)
        missing = idx < 0
        if exclude is not None:
            missing |= idx == exclude[:, None]
        dist[missing] = np.inf
        idx[missing] = self.n  # sorts after every real index
        order = _row_lexsort(dist, idx)
        dist = np.take_along_axis(dist, order, axis=1)
        idx = np.take_along_axis(idx, order, axis=1)
        if want > k:
            ambiguous = np.flatnonzero(np.isfinite(dist[:, k - 1]) & (dist[:, k - 1] == dist[:, k]))
            for row in ambiguous:
                ex = -1 if exclude is None else int(exclude[row])
                idx[row, :k], dist[row, :k] = self._exact_row(queries[row], k, ex)
        dist, idx = dist[:, :k], idx[:, :k]
        if dist.shape[1] < k:  # fewer candidates than k: pad
            pad = k - dist.shape[1]
            dist = np.pad(dist, ((0, 0), (0, pad)), constant_values=np.inf)
            idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        idx[~np.isfinite(dist)] = -1
        return idx, dist

    def _exact_row(self, query: np.ndarray, k: int, exclude: int) -> tuple[np.ndarray, np.ndarray]:
        """One query against the whole gallery with a stable sort, so ties go to the lower index."""
        if self._g_sq is None:
            self._g_sq = np.einsum("ij,ij->i", self.gallery, self.gallery)
        partial = self._g_sq - 2.0 * (self.gallery @ query)
        if exclude >= 0:
            partial[exclude] = np.inf
        order = np.argsort(partial, kind="stable")[:k]
        dist = np.maximum(partial[order] + float(query @ query), 0.0).astype(np.float32)
        return order.astype(np.int64), dist


def _row_lexsort(dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per-row order by (distance, index): stable sort on index, then stable sort on distance."""
    first = np.argsort(idx, axis=1, kind="stable")
    by_dist = np.argsort(np.take_along_axis(dist, first, axis=1), axis=1, kind="stable")
    return np.take_along_axis(first, by_dist, axis=1)

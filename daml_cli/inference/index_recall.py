"""What an approximate gallery index (IVF-PQ, HNSW) costs: its neighbours against exact k-NN search.

Every gallery vector is used as a query against the others (itself left out). Two kinds of figures:

- ``ann_recall@k``: the share of the exact k nearest neighbours that the index returns in its top k
  (1.0 for a flat index; what IVF-PQ/HNSW give up for speed and memory). A returned neighbour at the same
  distance as the exact k-th one counts, so ties broken differently are not misses;
- ``index_recall@K``: Recall@K (a query scores 1 if one of its K nearest others has its class) with the
  index's neighbours, to set beside the exact ``recall@K``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from daml_cli.errors import DataError
from daml_cli.index.store import load_index, search
from daml_cli.metrics.knn import ExactKnn


def _drop_self(ids: np.ndarray, k: int) -> np.ndarray:
    """Row i of `ids` without id i (and without -1 misses), cut to k columns; short rows padded with -1."""
    out = np.full((ids.shape[0], k), -1, dtype=np.int64)
    for row, found in enumerate(ids):
        kept = [int(j) for j in found if j != row and j >= 0][:k]
        out[row, : len(kept)] = kept
    return out


def _squared_distances(vectors: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """||v_i − v_ids[i, j]||² for every row i and column j (ids of -1 give a meaningless value)."""
    picked = vectors[np.clip(ids, 0, None)]
    return np.einsum("ijd,ijd->ij", picked - vectors[:, None, :], picked - vectors[:, None, :])


def index_recall(
    index_path: Path,
    embeddings: np.ndarray,
    labels: np.ndarray | None,
    paths: Sequence[str] | None,
    ks: Sequence[int],
    device: str = "auto",
    checkpoint_sha256: str | None = None,
) -> dict[str, float]:
    """``ann_recall@k`` for each k in `ks` and, with labels, ``index_recall@k`` (see the module docstring).

    `embeddings` must be the vectors the index was built from, in the same order (checked by count, dimension
    and, when given, paths).
    """
    index, metadata = load_index(index_path, embeddings.shape[1], checkpoint_sha256)
    count = embeddings.shape[0]
    if metadata.count != count:
        raise DataError(
            f"index {index_path} holds {metadata.count} vectors but the embeddings hold {count}",
            "pass the EMB.npz (or the run and split) the index was built from",
        )
    if paths is not None and list(map(str, paths)) != list(metadata.paths):
        raise DataError(
            f"index {index_path} was built from other images than the embeddings",
            "pass the EMB.npz (or the run and split) the index was built from",
        )
    k_max = min(max(ks), count - 1)
    if k_max < 1:
        raise DataError("the gallery needs at least 2 vectors to compare neighbours")
    vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
    _, approx_ids = search(index, vectors, k_max + 1, use_gpu=device != "cpu")
    approx = _drop_self(approx_ids, k_max)
    exact = ExactKnn(vectors, device=device).search(vectors, k_max, np.arange(count, dtype=np.int64)).distances
    found = np.where(approx >= 0, _squared_distances(vectors, approx), np.inf)  # true distances of the index's picks
    out: dict[str, float] = {}
    for k in sorted(set(min(k, k_max) for k in ks)):
        bound = exact[:, k - 1 : k] * (1 + 1e-5) + 1e-6
        out[f"ann_recall@{k}"] = float(np.mean((found[:, :k] <= bound).sum(axis=1) / k))
    if labels is not None:
        labels = np.asarray(labels)
        codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
        has_pair = np.bincount(codes)[codes] > 1  # queries with another item of their class
        hit_labels = np.where(approx >= 0, labels[np.clip(approx, 0, None)], np.iinfo(np.int64).min)
        for k in sorted(set(min(k, k_max) for k in ks)):
            hits = (hit_labels[:, :k] == labels[:, None]).any(axis=1)
            out[f"index_recall@{k}"] = float(hits[has_pair].mean()) if has_pair.any() else 0.0
    return out

"""What `evaluate_embeddings` accepts: metric names, the embedding matrix and labels, Recall@K values, masks.

Every check raises a one-line DataError before any search or clustering starts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daml_cli.errors import DataError
from daml_cli.metrics.knn import MAX_SQUARED_NORM

METRICS = ("recall", "nmi", "f1", "map@r", "r_precision")


def check_metric_names(metrics: Sequence[str]) -> None:
    """Refuse unknown metric names, or none at all (before any expensive work)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise DataError(f"unknown metric(s) {unknown or list(metrics)}", f"choose from {', '.join(METRICS)}")


def check_inputs(
    embeddings: np.ndarray, labels: np.ndarray, ks: Sequence[int], metrics: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[int], set[str]]:
    """(float32 C-contiguous embeddings, labels as codes 0..C−1, sorted distinct K, the metric set).

    DataError unless the embeddings are a finite floating N×D matrix (N ≥ 2, D ≥ 1) with squared norms within
    ``MAX_SQUARED_NORM``, the labels one comparable value per row, the metric names known and, when Recall@K
    is asked for, every K an integer ≥ 1. K values are not checked when Recall@K is not asked for.
    """
    emb = np.asarray(embeddings)
    if emb.ndim != 2:
        raise DataError(f"embeddings must be a 2-D array (items × dimensions), got shape {emb.shape}")
    if not np.issubdtype(emb.dtype, np.floating):
        raise DataError(f"embeddings must be floating point, got dtype {emb.dtype}")
    if emb.shape[0] < 2 or emb.shape[1] < 1:
        raise DataError(f"need at least 2 items with at least 1 dimension, got shape {emb.shape}")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != emb.shape[0]:
        raise DataError(f"labels must be 1-D with one entry per embedding ({emb.shape[0]}), got shape {lab.shape}")
    if not np.all(np.isfinite(emb)):
        bad = int(np.flatnonzero(~np.isfinite(emb).all(axis=1))[0])
        raise DataError(f"embeddings hold NaN or infinite values (first at row {bad})", "re-run `daml embed`")
    emb32 = np.ascontiguousarray(emb, dtype=np.float32)
    if float(np.einsum("ij,ij->i", emb32, emb32, dtype=np.float64).max()) > MAX_SQUARED_NORM:
        raise DataError("embedding norms are too large to compute float32 distances")
    try:
        _, codes = np.unique(lab, return_inverse=True)
    except TypeError as exc:
        raise DataError(f"labels cannot be compared with each other: {exc}") from exc
    check_metric_names(metrics)
    wanted = set(metrics)
    k_list: list[int] = []
    if "recall" in wanted:
        try:
            k_list = sorted({int(k) for k in ks})
        except (TypeError, ValueError) as exc:
            raise DataError(f"Recall@K values must be integers, got {list(ks)}") from exc
        if not k_list or k_list[0] < 1 or any(int(k) != k for k in ks):
            raise DataError(f"Recall@K needs integers K >= 1, got {list(ks)}")
    return emb32, codes.reshape(-1).astype(np.int64), k_list, wanted


def mask_rows(mask: np.ndarray | None, n: int, name: str) -> np.ndarray:
    """The row numbers a boolean mask of length `n` selects (all rows for None); DataError if it selects none."""
    if mask is None:
        return np.arange(n, dtype=np.int64)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != (n,):
        raise DataError(f"{name} must be a boolean array with one entry per embedding ({n}), got {m.dtype} {m.shape}")
    if not m.any():
        raise DataError(f"{name} selects no item")
    return np.flatnonzero(m).astype(np.int64)


def select_rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x[rows]``, without the copy when ``rows`` is every row in order (the all-against-all case)."""
    return x if rows.size == x.shape[0] and bool(np.all(rows == np.arange(x.shape[0]))) else x[rows]

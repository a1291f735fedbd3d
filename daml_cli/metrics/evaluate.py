"""`evaluate_embeddings`: every evaluation metric of `daml evaluate` from one embedding matrix and its labels.

Two modes:

- all-against-all (default; CUB, Cars, SOP): every item is a query and the gallery is every *other* item. The
  query's own row is excluded by index, so an exact duplicate of it still counts as a neighbour.
- query-against-gallery (In-Shop): ``query_mask`` / ``gallery_mask`` pick the rows of each set (a missing
  mask means "all rows"). An item that is in both sets is still never its own neighbour.

Retrieval metrics (Recall@K, MAP@R, R-precision) are averaged over queries that have at least one other item
of their class in the gallery; the others (``excluded_queries``) are left out of all three, as
pytorch-metric-learning does for MAP@R. R, per query, is the number of such items.

Clustering metrics (NMI, F1) cluster every item that is a query or in the gallery with k-means, k = the
number of classes among them.

The k-NN search is exact. All-against-all on the CPU (the default for CUB, Cars and SOP: no masks, no
forced chunk size, ``symmetric`` not False) it is ``knn_symmetric.symmetric_knn``, which multiplies each
block of the symmetric product once and serves both of its sides (half the multiply-adds), and it lists
only as many neighbours as MAP@R / R-precision need (the largest R) or ``RANK_LIST_DEPTH``, whichever is
larger. Recall@K comes from each query's first-positive rank: its place in that list, or, for a query whose
list holds no same-class item while some K is longer than the list, ``positive_rank.first_positive_ranks``
(one comparison per gallery item instead of a top-1000 selection). Otherwise (query/gallery masks, a GPU, or
``symmetric=False``) it is the chunked ``knn.ExactKnn`` with k = the largest K or R; its neighbour lists of
all queries never exist at once. Both give the same values (tested against each other and plain loops).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from daml_cli.errors import DataError
from daml_cli.metrics import clustering, retrieval
from daml_cli.metrics.knn import MAX_SQUARED_NORM, ExactKnn, resolve_backend
from daml_cli.metrics.knn_symmetric import symmetric_knn
from daml_cli.metrics.positive_rank import first_positive_ranks, same_class_items

METRICS = ("recall", "nmi", "f1", "map@r", "r_precision")
RANK_LIST_DEPTH = 32  # symmetric path: neighbours listed per query at least (Recall@K up to this from the list)


@dataclass
class EvaluationResult:
    """Metric values plus how they were obtained.

    ``metrics`` keys, in this order and only for the metrics asked for: ``recall@K`` (ascending K), ``nmi``,
    ``f1``, ``map@r``, ``r_precision``. Values are fractions in [0, 1].
    ``backend`` is the k-NN backend (e.g. ``torch-cpu``, ``faiss-gpu (1 GPU)``); ``details`` holds the
    k-means backend, seed, niter and nredo, the k of the search and the set sizes.
    """

    metrics: dict[str, float]
    backend: str
    excluded_queries: int
    seconds: dict[str, float]
    details: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return {
            "metrics": dict(self.metrics),
            "backend": self.backend,
            "excluded_queries": self.excluded_queries,
            "seconds": dict(self.seconds),
            "details": dict(self.details),
        }


def check_metric_names(metrics: Sequence[str]) -> None:
    """Refuse unknown metric names (before any expensive work)."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise DataError(f"unknown metric(s) {unknown or list(metrics)}", f"choose from {', '.join(METRICS)}")


def _check_inputs(
    embeddings: np.ndarray, labels: np.ndarray, ks: Sequence[int], metrics: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[int], set[str]]:
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


def _mask(mask: np.ndarray | None, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.arange(n, dtype=np.int64)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != (n,):
        raise DataError(f"{name} must be a boolean array with one entry per embedding ({n}), got {m.dtype} {m.shape}")
    if not m.any():
        raise DataError(f"{name} selects no item")
    return np.flatnonzero(m).astype(np.int64)


def _rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x[rows]``, without the copy when ``rows`` is every row in order (the all-against-all case)."""
    return x if rows.size == x.shape[0] and bool(np.all(rows == np.arange(x.shape[0]))) else x[rows]


@dataclass
class _Retrieval:
    metrics: dict[str, float]
    backend: str
    k: int
    seconds: dict[str, float]


def _use_symmetric(asked: bool | None, backend: str, query_mask: np.ndarray | None,
                   gallery_mask: np.ndarray | None, chunk_size: int | None) -> bool:
    """Not refused (``symmetric`` is not False), all-against-all, on the CPU torch backend, no chunk size."""
    return asked is not False and backend == "torch-cpu" and query_mask is None and gallery_mask is None \
        and chunk_size is None


def _symmetric_retrieval(
    emb: np.ndarray, codes: np.ndarray, queries: np.ndarray, r: np.ndarray, k_list: list[int], wanted: set[str]
) -> _Retrieval:
    """All-against-all: one symmetric search of depth max(R, RANK_LIST_DEPTH); Recall@K from first-positive
    ranks (from the list, else counted by ``first_positive_ranks`` when some K is deeper than the list)."""
    n = emb.shape[0]
    depth = max(int(r.max()) if wanted & {"map@r", "r_precision"} else 1,
                min(k_list[-1], RANK_LIST_DEPTH) if "recall" in wanted else 1)
    depth = min(depth, n - 1)
    t0 = time.perf_counter()
    found = symmetric_knn(emb, depth)
    t_knn = time.perf_counter() - t0
    idx = found.indices[queries]
    nl = np.where(idx >= 0, codes[np.maximum(idx, 0)], -1)
    ql = codes[queries]
    out: dict[str, float] = {}
    t_rank = 0.0
    if "recall" in wanted:
        rel = nl == ql[:, None]
        in_list = rel.any(axis=1)
        rank = np.where(in_list, rel.argmax(axis=1), depth)  # depth = "not within the list"
        deeper = ~in_list if k_list[-1] > depth else np.zeros_like(in_list)
        if deeper.any():
            t1 = time.perf_counter()
            rows = queries[deeper]
            rank[deeper] = first_positive_ranks(emb, emb[rows], same_class_items(codes, rows), rows)
            t_rank = time.perf_counter() - t1
        out = {f"recall@{kk}": float(np.count_nonzero(rank < kk)) / queries.size for kk in k_list}
    t2 = time.perf_counter()
    if "map@r" in wanted:
        out["map@r"] = float(retrieval.average_precision_at_r_per_query(nl, ql, r).sum()) / queries.size
    if "r_precision" in wanted:
        out["r_precision"] = float(retrieval.r_precision_per_query(nl, ql, r).sum()) / queries.size
    seconds = {"knn": t_knn, "ranks": t_rank, "retrieval": time.perf_counter() - t2}
    return _Retrieval(out, found.backend, depth, seconds)


def _retrieval_metrics(
    emb: np.ndarray,
    codes: np.ndarray,
    queries: np.ndarray,
    gallery: np.ndarray,
    self_pos: np.ndarray,
    r: np.ndarray,
    k_list: list[int],
    wanted: set[str],
    backend: str,
    chunk_size: int | None,
) -> _Retrieval:
    """Search chunk by chunk and sum per-query scores; ``queries`` are only those with ``r >= 1``."""
    k = max(k_list[-1] if "recall" in wanted else 1, int(r.max()) if wanted & {"map@r", "r_precision"} else 1)
    g_codes = codes[gallery]
    hits = dict.fromkeys(k_list, 0)
    ap_sum = rp_sum = 0.0
    t_knn = t_ret = 0.0
    t0 = time.perf_counter()
    searcher = ExactKnn(_rows(emb, gallery), device=backend, chunk_size=chunk_size)
    name, chunks = searcher.backend, searcher.chunks(_rows(emb, queries), k, self_pos)
    for chunk in chunks:
        t1 = time.perf_counter()
        t_knn += t1 - t0
        rows = slice(chunk.start, chunk.start + chunk.indices.shape[0])
        nl = np.where(chunk.indices >= 0, g_codes[np.maximum(chunk.indices, 0)], -1)
        ql = codes[queries[rows]]
        if "recall" in wanted:
            for kk, hit in retrieval.recall_at_k_per_query(nl, ql, k_list).items():
                hits[kk] += int(hit.sum())
        if "map@r" in wanted:
            ap_sum += float(retrieval.average_precision_at_r_per_query(nl, ql, r[rows]).sum())
        if "r_precision" in wanted:
            rp_sum += float(retrieval.r_precision_per_query(nl, ql, r[rows]).sum())
        t0 = time.perf_counter()
        t_ret += t0 - t1
    n = queries.size
    out = {f"recall@{kk}": hits[kk] / n for kk in k_list} if "recall" in wanted else {}
    if "map@r" in wanted:
        out["map@r"] = ap_sum / n
    if "r_precision" in wanted:
        out["r_precision"] = rp_sum / n
    return _Retrieval(out, name, k, {"knn": t_knn, "retrieval": t_ret})


def evaluate_embeddings(
    embeddings: np.ndarray,
    labels: np.ndarray,
    ks: Sequence[int] = (1, 2, 4, 8),
    metrics: Sequence[str] = METRICS,
    seed: int = 0,
    query_mask: np.ndarray | None = None,
    gallery_mask: np.ndarray | None = None,
    device: str = "auto",
    *,
    kmeans_niter: int = 20,
    kmeans_nredo: int | None = None,
    chunk_size: int | None = None,
    symmetric: bool | None = None,
) -> EvaluationResult:
    """Compute the requested metrics (see the module docstring for the protocol).

    Raises DataError for bad inputs, and when retrieval metrics are asked for but no query has another item
    of its class in the gallery; ConfigError for an unknown or unavailable ``device``. ``seed``,
    ``kmeans_niter`` and ``kmeans_nredo`` fix k-means (``kmeans_nredo=None``: ``clustering.default_nredo``); ``chunk_size`` (queries per search block) defaults to
    a 256 MiB distance block. ``symmetric``: None or True = the symmetric search where it applies (module
    docstring), False = always the chunked one.
    """
    t_start = time.perf_counter()
    emb, codes, k_list, wanted = _check_inputs(embeddings, labels, ks, metrics)
    n = emb.shape[0]
    q_rows = _mask(query_mask, n, "query_mask")
    g_rows = _mask(gallery_mask, n, "gallery_mask")
    backend = resolve_backend(device)
    seconds: dict[str, float] = {}
    found: dict[str, float] = {}

    # R per query: gallery items of its class, minus itself when it is in the gallery.
    g_pos = np.full(n, -1, dtype=np.int64)
    g_pos[g_rows] = np.arange(g_rows.size)
    self_pos = g_pos[q_rows]
    class_count = np.bincount(codes[g_rows], minlength=int(codes.max()) + 1)
    r_all = class_count[codes[q_rows]] - (self_pos >= 0)
    valid = r_all > 0
    details: dict[str, object] = {"n_items": n, "n_queries": int(q_rows.size), "n_gallery": int(g_rows.size)}
    if wanted & {"recall", "map@r", "r_precision"}:
        if not valid.any():
            raise DataError(
                "no query has another item of its class in the gallery, so Recall@K, MAP@R and "
                "R-precision are undefined",
                "check the labels, or ask only for nmi/f1",
            )
        if _use_symmetric(symmetric, backend, query_mask, gallery_mask, chunk_size):
            ret = _symmetric_retrieval(emb, codes, q_rows[valid], r_all[valid], k_list, wanted)
        else:
            ret = _retrieval_metrics(emb, codes, q_rows[valid], g_rows, self_pos[valid], r_all[valid], k_list,
                                     wanted, backend, chunk_size)
        found.update(ret.metrics)
        seconds.update(ret.seconds)
        backend = ret.backend
        details["knn_k"] = ret.k
    else:
        backend = "none"

    if wanted & {"nmi", "f1"}:
        items = np.union1d(q_rows, g_rows)
        item_codes = codes[items]
        n_classes = int(np.unique(item_codes).size)
        t0 = time.perf_counter()
        use_gpu = resolve_backend(device) == "faiss-gpu"  # k-means on the GPU exactly when the search may use it
        if kmeans_nredo is None:
            kmeans_nredo = clustering.default_nredo(int(items.size), n_classes, emb.shape[1])
        km = clustering.kmeans(_rows(emb, items), n_classes, seed=seed, niter=kmeans_niter, nredo=kmeans_nredo,
                               use_gpu=use_gpu)
        seconds["kmeans"] = time.perf_counter() - t0
        details.update({"kmeans_backend": km.backend, "kmeans_init": km.init, "kmeans_k": n_classes,
                        "kmeans_seed": seed, "kmeans_niter": kmeans_niter, "kmeans_nredo": kmeans_nredo,
                        "kmeans_objective": km.objective})
        if "nmi" in wanted:
            t0 = time.perf_counter()
            found["nmi"] = clustering.nmi(item_codes, km.assignments)
            seconds["nmi"] = time.perf_counter() - t0
        if "f1" in wanted:
            t0 = time.perf_counter()
            found["f1"] = clustering.pairwise_f1(item_codes, km.assignments)
            seconds["f1"] = time.perf_counter() - t0
    order = [f"recall@{kk}" for kk in k_list] + ["nmi", "f1", "map@r", "r_precision"]
    seconds["total"] = time.perf_counter() - t_start
    return EvaluationResult({key: found[key] for key in order if key in found}, backend, int((~valid).sum()),
                            seconds, details)

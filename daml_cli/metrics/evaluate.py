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

The k-NN search is exact; `retrieval_search` says which search runs when (a symmetric all-against-all
search on the CPU, else the chunked one); both give the same values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from daml_cli.errors import DataError
from daml_cli.metrics import clustering
from daml_cli.metrics.eval_inputs import METRICS, check_inputs, mask_rows, select_rows
from daml_cli.metrics.knn import resolve_backend
from daml_cli.metrics.retrieval_search import chunked_retrieval, symmetric_retrieval, use_symmetric


@dataclass
class EvaluationResult:
    """Metric values plus how they were obtained.

    ``metrics`` keys, in this order and only for the metrics asked for: ``recall@K`` (ascending K), ``nmi``,
    ``f1``, ``map@r``, ``r_precision``. Values are fractions in [0, 1].
    ``backend`` is the k-NN backend (e.g. ``torch-cpu (symmetric, 2 workers)``, ``faiss-gpu (1 GPU)``; ``none``
    when no retrieval metric was asked for); ``seconds`` the time of each part and the total; ``details`` the
    set sizes, the k of the search (``knn_k``) and, with NMI or F1, the k-means backend, seeding, k, seed,
    niter, nredo and final objective.
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
    ``kmeans_niter`` and ``kmeans_nredo`` fix k-means (``kmeans_nredo=None``: ``clustering.default_nredo``).
    ``chunk_size`` (queries per search block) defaults to a 256 MiB distance block (at most 8192 queries); a
    given one forces the chunked search. ``symmetric``: None or True = the symmetric search where it applies
    (``retrieval_search``), False = always the chunked one.
    """
    t_start = time.perf_counter()
    emb, codes, k_list, wanted = check_inputs(embeddings, labels, ks, metrics)
    n = emb.shape[0]
    q_rows = mask_rows(query_mask, n, "query_mask")
    g_rows = mask_rows(gallery_mask, n, "gallery_mask")
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
        if use_symmetric(symmetric, backend, query_mask, gallery_mask, chunk_size):
            ret = symmetric_retrieval(emb, codes, q_rows[valid], r_all[valid], k_list, wanted)
        else:
            ret = chunked_retrieval(emb, codes, q_rows[valid], g_rows, self_pos[valid], r_all[valid], k_list,
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
        km = clustering.kmeans(select_rows(emb, items), n_classes, seed=seed, niter=kmeans_niter, nredo=kmeans_nredo,
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

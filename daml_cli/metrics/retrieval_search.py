"""The retrieval half of `evaluate_embeddings`: Recall@K, MAP@R and R-precision from an exact k-NN search.

The k-NN search is exact. All-against-all on the torch CPU backend (the default for CUB, Cars and SOP: no
masks, no forced chunk size, ``symmetric`` not False) it is ``knn_symmetric.symmetric_knn``, which multiplies
each block of the symmetric product once and serves both of its sides (half the multiply-adds). It lists

    depth = min(N − 1, max(largest R, min(largest K, RANK_LIST_DEPTH)))

neighbours per query (the largest R serves MAP@R / R-precision, the largest K Recall@K; a term whose metrics
are not asked for counts as 1). Recall@K comes from each query's first-positive rank: its place in that
list, or, for a query whose list holds no same-class item while the largest K is longer than the list,
``positive_rank.first_positive_ranks`` (one comparison per gallery item instead of a top-1000 selection).
Otherwise (query/gallery masks, a chunk size, another backend — a GPU or ``faiss-cpu`` — or
``symmetric=False``) it is the chunked ``knn.ExactKnn`` with k = max(largest K, largest R), terms counted the
same way; its neighbour lists of all queries never exist at once. Both give the same values
(tested against each other and plain loops).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from daml_cli.metrics import retrieval
from daml_cli.metrics.eval_inputs import select_rows
from daml_cli.metrics.knn import ExactKnn
from daml_cli.metrics.knn_symmetric import symmetric_knn
from daml_cli.metrics.positive_rank import first_positive_ranks, same_class_items

# Symmetric path: Recall@K lists min(largest K, RANK_LIST_DEPTH) neighbours (more when MAP@R or R-precision
# needs a larger R); when the largest K is longer than the list, a query whose first positive lies past it gets
# its rank from first_positive_ranks.
RANK_LIST_DEPTH = 32


@dataclass
class RetrievalScores:
    """Recall@K / MAP@R / R-precision values, the k-NN backend that found them, the search's k, and timings."""

    metrics: dict[str, float]
    backend: str
    k: int
    seconds: dict[str, float]


def use_symmetric(asked: bool | None, backend: str, query_mask: np.ndarray | None,
                  gallery_mask: np.ndarray | None, chunk_size: int | None) -> bool:
    """Not refused (``symmetric`` is not False), all-against-all, on the CPU torch backend, no chunk size."""
    return asked is not False and backend == "torch-cpu" and query_mask is None and gallery_mask is None \
        and chunk_size is None


def symmetric_retrieval(
    emb: np.ndarray, codes: np.ndarray, queries: np.ndarray, r: np.ndarray, k_list: list[int], wanted: set[str]
) -> RetrievalScores:
    """All-against-all: one symmetric search of depth min(N − 1, max(largest R, min(largest K, RANK_LIST_DEPTH)))
    (module docstring); Recall@K from first-positive ranks (from the list, else counted by
    ``first_positive_ranks`` when the largest K is deeper than the list). ``queries`` have ``r >= 1``."""
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
    return RetrievalScores(out, found.backend, depth, seconds)


def chunked_retrieval(
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
) -> RetrievalScores:
    """Search chunk by chunk with k = max(largest K, largest R) and sum per-query scores; ``queries`` are only
    those with ``r >= 1``, ``self_pos`` their own gallery position (−1 when not in the gallery)."""
    k = max(k_list[-1] if "recall" in wanted else 1, int(r.max()) if wanted & {"map@r", "r_precision"} else 1)
    g_codes = codes[gallery]
    hits = dict.fromkeys(k_list, 0)
    ap_sum = rp_sum = 0.0
    t_knn = t_ret = 0.0
    t0 = time.perf_counter()
    searcher = ExactKnn(select_rows(emb, gallery), device=backend, chunk_size=chunk_size)
    name, chunks = searcher.backend, searcher.chunks(select_rows(emb, queries), k, self_pos)
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
    return RetrievalScores(out, name, k, {"knn": t_knn, "retrieval": t_ret})

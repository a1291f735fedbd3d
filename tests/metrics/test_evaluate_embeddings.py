"""evaluate_embeddings: the whole protocol against hand-worked values and brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest

from daml_cli.errors import DataError
from daml_cli.metrics.evaluate import evaluate_embeddings

RETRIEVAL = ("recall", "map@r", "r_precision")


def brute_force_metrics(x, labels, ks, queries, gallery):
    """Loop over queries: rank gallery items by (squared distance, index), drop the query's own row."""
    x = x.astype(np.float64)
    hits = {k: [] for k in ks}
    aps, rps, excluded = [], [], 0
    for q in queries:
        cands = [g for g in gallery if g != q]
        cands.sort(key=lambda g: (float(((x[q] - x[g]) ** 2).sum()), g))
        rel = [labels[g] == labels[q] for g in cands]
        r = sum(rel)
        if r == 0:
            excluded += 1
            continue
        for k in ks:
            hits[k].append(any(rel[:k]))
        aps.append(sum(sum(rel[:i]) / i for i in range(1, r + 1) if rel[i - 1]) / r)
        rps.append(sum(rel[:r]) / r)
    out = {f"recall@{k}": float(np.mean(hits[k])) for k in ks}
    out.update({"map@r": float(np.mean(aps)), "r_precision": float(np.mean(rps))})
    return out, excluded


def test_six_points_on_a_line_hand_worked() -> None:
    # x = 0 1 2 3 4 10 ; labels A A B A B B. Neighbours (ties -> lower index), rel, R = 2 for everyone:
    # q0 (A): 1A 2B 3A 4B 5B   rel 1 0 1 ..  AP = (1/1)/2 = 0.5   RP = 0.5  first hit @1
    # q1 (A): 0A 2B 3A 4B 5B   (0 and 2 tie at 1; 0 first)  AP = 0.5  RP = 0.5  @1
    # q2 (B): 1A 3A 0A 4B 5B   (1,3 tie; 0,4 tie)            AP = 0    RP = 0    @4
    # q3 (A): 2B 4B 1A 0A 5B   (2,4 tie)                     AP = 0    RP = 0    @3
    # q4 (B): 3A 2B 1A 0A 5B   AP = (1/2)/2 = 0.25  RP = 0.5  @2
    # q5 (B): 4B 3A 2B 1A 0A   AP = 0.5  RP = 0.5  @1
    # Recall@1 = 3/6, @2 = 4/6, @4 = 6/6; MAP@R = 1.75/6; R-precision = 2/6.
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [10.0]])
    labels = np.array(["A", "A", "B", "A", "B", "B"])
    for chunk in (1, 4, 6):
        res = evaluate_embeddings(x, labels, ks=(1, 2, 4), metrics=RETRIEVAL, device="cpu", chunk_size=chunk)
        assert res.metrics == pytest.approx(
            {"recall@1": 3 / 6, "recall@2": 4 / 6, "recall@4": 1.0, "map@r": 1.75 / 6, "r_precision": 2 / 6}
        )
        assert res.excluded_queries == 0
        assert res.backend == "torch-cpu"


def test_keys_and_order() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    labels = np.repeat(np.arange(8), 5)
    res = evaluate_embeddings(x, labels, ks=(8, 1, 2, 4, 2), seed=1)
    assert list(res.metrics) == ["recall@1", "recall@2", "recall@4", "recall@8", "nmi", "f1", "map@r", "r_precision"]
    assert all(0.0 <= v <= 1.0 for v in res.metrics.values())
    assert {"knn", "kmeans", "nmi", "f1", "total"} <= set(res.seconds)
    assert res.details["kmeans_seed"] == 1 and res.details["kmeans_k"] == 8
    only = evaluate_embeddings(x, labels, metrics=("nmi",))
    assert list(only.metrics) == ["nmi"] and only.backend == "none"


@pytest.mark.parametrize("seed", range(4))
def test_all_against_all_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 45
    labels = rng.integers(0, 7, size=n)
    x = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)  # many exact ties and duplicates
    ks = (1, 2, 5, 50)
    res = evaluate_embeddings(x, labels, ks=ks, metrics=RETRIEVAL, device="cpu", chunk_size=8)
    expected, excluded = brute_force_metrics(x, labels, ks, range(n), range(n))
    assert res.metrics == pytest.approx(expected)
    assert res.excluded_queries == excluded


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("depth", [1, 3, 16])
def test_default_symmetric_path_matches_brute_force(seed: int, depth: int, monkeypatch) -> None:
    """All-against-all on the CPU: the symmetric list of `depth` neighbours, Recall@K past it from counted
    first-positive ranks (several blocks and workers, tiny chunks), against the brute-force loop."""
    from daml_cli.metrics import retrieval_search as search_module
    from daml_cli.metrics.knn_symmetric import symmetric_knn
    from daml_cli.metrics.positive_rank import first_positive_ranks

    monkeypatch.setattr(search_module, "RANK_LIST_DEPTH", depth)
    monkeypatch.setattr(search_module, "symmetric_knn", lambda emb, k: symmetric_knn(emb, k, block_rows=8,
                                                                                        workers=2))
    monkeypatch.setattr(search_module, "first_positive_ranks",
                        lambda *a: first_positive_ranks(*a, chunk_rows=5, workers=2))
    rng = np.random.default_rng(seed)
    n = 45
    labels = rng.integers(0, 7, size=n)
    x = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)  # many exact ties and duplicates
    ks = (1, 2, 5, 30, 50)
    for metrics in (RETRIEVAL, ("recall",)):
        res = evaluate_embeddings(x, labels, ks=ks, metrics=metrics, device="cpu")
        assert "symmetric" in res.backend
        expected, excluded = brute_force_metrics(x, labels, ks, range(n), range(n))
        assert res.metrics == pytest.approx({key: expected[key] for key in res.metrics})
        assert res.excluded_queries == excluded


@pytest.mark.parametrize(
    ("n", "ks", "metrics", "depth"),
    [
        (90, (1, 2, 4, 8), ("recall",), 8),  # the largest K, below RANK_LIST_DEPTH = 32
        (90, (1, 100), ("recall",), 32),  # capped at RANK_LIST_DEPTH; K = 100 comes from counted ranks
        (90, (1,), RETRIEVAL, 39),  # the largest R: 40 items of one class, minus the query itself
        (90, (1,), ("map@r",), 39),
        (20, (1, 500), ("recall",), 19),  # N − 1 bounds everything (20 items)
    ],
)
def test_symmetric_search_depth_is_max_of_r_and_capped_k(n, ks, metrics, depth) -> None:
    # The list depth of the symmetric path: min(N − 1, max(largest R, min(largest K, 32))).
    labels = np.r_[np.zeros(40, np.int64), np.repeat(np.arange(1, 11), 5)][:n]
    x = np.random.default_rng(0).standard_normal((labels.size, 4)).astype(np.float32)
    res = evaluate_embeddings(x, labels, ks=ks, metrics=metrics, device="cpu")
    assert "symmetric" in res.backend and res.details["knn_k"] == depth


def test_singleton_classes_are_excluded_and_counted() -> None:
    rng = np.random.default_rng(5)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 4, 4, 4, 5])  # classes 2, 3 and 5 have one image each
    x = rng.standard_normal((labels.size, 4)).astype(np.float32)
    res = evaluate_embeddings(x, labels, ks=(1, 3), device="cpu")
    expected, excluded = brute_force_metrics(x, labels, (1, 3), range(labels.size), range(labels.size))
    assert excluded == 3 and res.excluded_queries == 3
    assert {k: res.metrics[k] for k in expected} == pytest.approx(expected)
    assert "nmi" in res.metrics  # clustering still uses every item


def test_all_singletons_cannot_give_retrieval_metrics() -> None:
    x = np.eye(4, dtype=np.float32)
    with pytest.raises(DataError, match="no query has another item"):
        evaluate_embeddings(x, np.arange(4))
    res = evaluate_embeddings(x, np.arange(4), metrics=("nmi", "f1"))
    assert res.excluded_queries == 4 and res.metrics["nmi"] == pytest.approx(1.0)


def test_exact_duplicates_are_not_dropped_as_self() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((10, 6)).astype(np.float32)
    x = np.concatenate([base, base])  # item i and i + 10 are identical, same class
    labels = np.concatenate([np.arange(10), np.arange(10)])
    res = evaluate_embeddings(x, labels, ks=(1,), metrics=RETRIEVAL, device="cpu")
    assert res.metrics["recall@1"] == 1.0 and res.metrics["map@r"] == 1.0


def test_query_against_gallery_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    n = 60
    labels = rng.integers(0, 9, size=n)
    x = rng.integers(-2, 3, size=(n, 4)).astype(np.float32)
    query = np.zeros(n, dtype=bool)
    query[:20] = True
    gallery = ~query
    res = evaluate_embeddings(x, labels, ks=(1, 4, 16), metrics=RETRIEVAL, query_mask=query,
                              gallery_mask=gallery, device="cpu", chunk_size=6)
    expected, excluded = brute_force_metrics(x, labels, (1, 4, 16), range(20), range(20, n))
    assert res.metrics == pytest.approx(expected)
    assert res.excluded_queries == excluded
    assert res.details["n_queries"] == 20 and res.details["n_gallery"] == 40


def test_query_in_gallery_never_matches_itself() -> None:
    # Two identical points of class 0; only item 0 is a query but both are in the gallery.
    x = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    labels = np.array([0, 1, 0])
    query = np.array([True, False, False])
    res = evaluate_embeddings(x, labels, ks=(1, 2), metrics=RETRIEVAL, query_mask=query, device="cpu")
    # Nearest other item is 1 (class 1, a miss), then 2 (class 0, a hit); R = 1.
    assert res.metrics == pytest.approx({"recall@1": 0.0, "recall@2": 1.0, "map@r": 0.0, "r_precision": 0.0})


def test_faiss_cpu_backend_gives_the_same_numbers() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 6, size=50)
    x = rng.integers(-2, 3, size=(50, 3)).astype(np.float32)
    a = evaluate_embeddings(x, labels, metrics=RETRIEVAL, device="cpu", chunk_size=7)
    b = evaluate_embeddings(x, labels, metrics=RETRIEVAL, device="faiss-cpu", chunk_size=7)
    assert b.backend == "faiss-cpu" and a.metrics == pytest.approx(b.metrics)


@pytest.mark.parametrize(
    ("embeddings", "labels", "kwargs", "match"),
    [
        (np.zeros(5), np.zeros(5), {}, "2-D"),
        (np.zeros((5, 2), dtype=np.int64), np.zeros(5), {}, "floating point"),
        (np.zeros((5, 2)), np.zeros(4), {}, "one entry per embedding"),
        (np.zeros((5, 2)), np.zeros((5, 1)), {}, "1-D"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros(2), {}, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), np.zeros(2), {}, "NaN or infinite"),
        (np.zeros((1, 2)), np.zeros(1), {}, "at least 2 items"),
        (np.zeros((5, 2)), np.zeros(5), {"ks": (0, 1)}, "K >= 1"),
        (np.zeros((5, 2)), np.zeros(5), {"ks": ()}, "K >= 1"),
        (np.zeros((5, 2)), np.zeros(5), {"metrics": ("recall", "auc")}, "unknown metric"),
        (np.zeros((5, 2)), np.zeros(5), {"query_mask": np.ones(4, dtype=bool)}, "query_mask"),
        (np.zeros((5, 2)), np.zeros(5), {"gallery_mask": np.zeros(5, dtype=bool)}, "selects no item"),
        (np.full((3, 2), 1e30), np.zeros(3), {}, "too large"),
    ],
)
def test_input_validation(embeddings, labels, kwargs, match) -> None:
    with pytest.raises(DataError, match=match):
        evaluate_embeddings(embeddings, labels, **kwargs)


def test_unknown_device_is_a_config_error() -> None:
    from daml_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown device"):
        evaluate_embeddings(np.zeros((4, 2)), np.array([0, 0, 1, 1]), device="tpu")

"""k-means, NMI and pairwise F1: sklearn agreement, O(n²) pair loops and a hand-worked case."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from daml_cli.metrics.clustering import (
    contingency,
    kmeans,
    kmeans_plus_plus,
    nmi,
    pairwise_f1,
    pairwise_precision_recall_f1,
)


def loop_pairwise(labels: np.ndarray, clusters: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 over every unordered pair, counted one pair at a time."""
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(labels)), 2):
        same_class, same_cluster = labels[i] == labels[j], clusters[i] == clusters[j]
        tp += same_class and same_cluster
        fp += same_cluster and not same_class
        fn += same_class and not same_cluster
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_pairwise_f1_hand_worked() -> None:
    # classes 0,0,0,1,1 ; clusters 0,0,1,1,1
    # same-class pairs: C(3,2)+C(2,2) = 4; same-cluster pairs: C(2,2)+C(3,2) = 4
    # TP: cells (0,0)=2 -> 1, (0,1)=1 -> 0, (1,1)=2 -> 1, so TP = 2; P = R = 1/2; F1 = 1/2
    p, r, f1 = pairwise_precision_recall_f1(np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 1]))
    assert (p, r, f1) == pytest.approx((0.5, 0.5, 0.5))


@pytest.mark.parametrize("seed", range(6))
def test_pairwise_f1_against_pair_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    labels = rng.integers(0, int(rng.integers(1, 8)), size=n)
    clusters = rng.integers(0, int(rng.integers(1, 8)), size=n) * 3 + 100  # ids need not be 0..k-1
    assert pairwise_precision_recall_f1(labels, clusters) == pytest.approx(loop_pairwise(labels, clusters))


def test_pairwise_f1_degenerate_cases() -> None:
    singletons = np.arange(5)
    assert pairwise_f1(singletons, singletons) == 0.0  # no pair anywhere: every ratio has denominator 0
    assert pairwise_f1(np.array([0, 0, 1]), np.array([0, 0, 1])) == 1.0
    assert pairwise_f1(np.array(["a", "b", "a"]), np.array([2, 1, 2])) == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_nmi_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    labels = rng.integers(0, int(rng.integers(1, 20)), size=n)
    clusters = rng.integers(0, int(rng.integers(1, 20)), size=n)
    if seed % 2:
        clusters = (labels * 7 + (rng.random(n) < 0.2)) % 11  # strongly related assignment
    expected = normalized_mutual_info_score(labels, clusters, average_method="arithmetic")
    assert nmi(labels, clusters) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize(
    ("labels", "clusters"),
    [([0, 0, 0], [1, 1, 1]), ([0, 0, 1], [1, 1, 1]), ([0, 1, 2], [5, 5, 5]), ([0, 1], [1, 0]), ([0, 0, 1, 1], [0, 1, 0, 1])],
)
def test_nmi_edge_cases_equal_sklearn(labels: list[int], clusters: list[int]) -> None:
    assert nmi(np.array(labels), np.array(clusters)) == pytest.approx(
        normalized_mutual_info_score(labels, clusters, average_method="arithmetic")
    )


def test_contingency_is_sparse_counts() -> None:
    t = contingency(np.array([3, 3, 9, 9, 9]), np.array([0, 1, 1, 1, 1]))
    assert sorted(t.cells.tolist()) == [1, 1, 3]
    assert t.class_sizes.tolist() == [2, 3] and t.cluster_sizes.tolist() == [1, 4] and t.n == 5


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, 16)) * 50.0
    labels = np.repeat(np.arange(6), 25)
    return (centres[labels] + rng.standard_normal((150, 16))).astype(np.float32), labels


def test_kmeans_recovers_separated_blobs() -> None:
    x, labels = blobs()
    result = kmeans(x, 6, seed=0, niter=20, nredo=2)
    assert nmi(labels, result.assignments) > 0.999
    assert pairwise_f1(labels, result.assignments) > 0.999
    again = kmeans(x, 6, seed=0, niter=20, nredo=2)
    np.testing.assert_array_equal(again.assignments, result.assignments)  # seeded


def test_kmeans_sklearn_fallback_without_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now raises ImportError
    x, labels = blobs(1)
    result = kmeans(x, 6, seed=0, niter=50, nredo=3)
    assert result.backend == "sklearn"
    assert nmi(labels, result.assignments) > 0.999


def test_kmeans_rejects_bad_k() -> None:
    x, _ = blobs()
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(x, 0)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(x, 151)


def test_kmeans_random_init_is_seeded_and_reported() -> None:
    pytest.importorskip("faiss")
    x, labels = blobs(2)
    a = kmeans(x, 6, seed=3, niter=10, nredo=2, init="random")
    b = kmeans(x, 6, seed=3, niter=10, nredo=2, init="random")
    assert a.init == "random" and a.backend == "faiss-cpu"
    np.testing.assert_array_equal(a.assignments, b.assignments)
    assert kmeans(x, 6, seed=3).init == "k-means++"  # "auto" on a small problem


def test_kmeans_plus_plus_with_duplicate_points() -> None:
    # Three distinct points, each repeated: once all three are centres every D² is 0 and seeding must still
    # return k distinct rows without failing.
    x = np.repeat(np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32), 4, axis=0)
    centres = kmeans_plus_plus(x, 3, np.random.default_rng(0))
    assert len({tuple(c) for c in centres.tolist()}) == 3
    more = kmeans_plus_plus(x, 5, np.random.default_rng(0))
    assert more.shape == (5, 2)
    result = kmeans(x, 3, seed=0)
    assert nmi(np.repeat(np.arange(3), 4), result.assignments) == pytest.approx(1.0)


def test_default_nredo_matches_the_pml_budget_only_at_large_scale() -> None:
    from daml_cli.metrics.clustering import KMEANSPP_MAX_WORK, default_nredo

    assert default_nredo(5924, 100, 512) == 3  # CUB-sized: cheap, three k-means++ runs
    assert default_nredo(60502, 11316, 512) == 1  # SOP-sized: one run of niter iterations, as PML
    edge = int(KMEANSPP_MAX_WORK) // (100 * 10)
    assert default_nredo(edge, 100, 10) == 3 and default_nredo(edge + 1, 100, 10) == 1


def test_evaluate_records_the_nredo_it_used() -> None:
    from daml_cli.metrics.evaluate import evaluate_embeddings

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    labels = np.repeat(np.arange(8), 5)
    assert evaluate_embeddings(x, labels, metrics=("nmi",)).details["kmeans_nredo"] == 3
    assert evaluate_embeddings(x, labels, metrics=("nmi",), kmeans_nredo=2).details["kmeans_nredo"] == 2

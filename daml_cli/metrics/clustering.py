"""Clustering metrics: seeded k-means, NMI and the pairwise F-measure.

Everything is computed from the sparse contingency table ``n_ij`` (items with class i in cluster j), with
class sizes ``a_i = Σ_j n_ij`` and cluster sizes ``b_j = Σ_i n_ij``. Only non-zero cells are stored, so
11,316 classes × 11,316 clusters cost O(N) memory, and no N × N pair matrix is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


KMEANSPP_MAX_WORK = 2e9  # n · k · d up to which "auto" seeds with k-means++ (seconds on 2 cores)


def default_nredo(n: int, n_clusters: int, dimension: int) -> int:
    """k-means restarts when none are asked for: 3 (k-means++ seeded) while ``n·k·d ≤ KMEANSPP_MAX_WORK``
    (CUB, Cars: seconds), else 1 (SOP: one run of ``niter`` iterations already costs n·k·d·niter
    multiply-adds, the budget pytorch-metric-learning's AccuracyCalculator spends: ``faiss.Kmeans(niter=20)``,
    FAISS's default ``nredo=1``)."""
    return 3 if n * n_clusters * dimension <= KMEANSPP_MAX_WORK else 1


@dataclass(frozen=True)
class KMeansResult:
    """Cluster id of each item, the final k-means objective (sum of squared distances) and how it was run."""

    assignments: np.ndarray
    objective: float
    backend: str
    init: str


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre is drawn with probability
    proportional to its squared distance ``D(x)²`` to the nearest centre chosen so far. Cost O(n·k·d)."""
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    d2 = np.maximum(sq - 2.0 * (x @ x[chosen[0]]) + sq[chosen[0]], 0.0).astype(np.float64)
    d2[chosen[0]] = 0.0
    for i in range(1, k):
        total = d2.sum()
        if total > 0:
            c = int(np.searchsorted(np.cumsum(d2), rng.random() * total, side="right"))
            c = min(c, n - 1)
        else:  # every point sits on a centre: take any point not chosen yet
            free = np.setdiff1d(np.arange(n), chosen[:i])
            c = int(free[rng.integers(free.size)])
        chosen[i] = c
        np.minimum(d2, np.maximum(sq - 2.0 * (x @ x[c]) + sq[c], 0.0), out=d2)
        d2[c] = 0.0
    return x[chosen]


def kmeans(
    x: np.ndarray,
    n_clusters: int,
    *,
    seed: int = 0,
    niter: int = 20,
    nredo: int = 3,
    init: str = "auto",
    use_gpu: bool = False,
) -> KMeansResult:
    """Lloyd k-means, restarted ``nredo`` times; the run with the lowest final objective wins.

    FAISS (``faiss.Kmeans``) when importable: exactly ``niter`` iterations per run, every point used for
    training (no subsampling, no "too few points" warning). ``init``: ``"k-means++"`` seeds each run with
    ``kmeans_plus_plus`` (seed ``seed + run``), ``"random"`` with FAISS's own seeded choice of k distinct
    points, ``"auto"`` picks k-means++ when ``n·k·d ≤ KMEANSPP_MAX_WORK`` (CUB, Cars), else random (SOP:
    k-means++ would cost minutes there). Random seeding often merges two well-separated groups and splits
    another; k-means++ rarely does. Without FAISS: scikit-learn ``KMeans(random_state=seed, n_init=nredo,
    max_iter=niter)`` (k-means++ seeding). Results depend on the backend and, for FAISS, may change in the
    last digits with the thread count; otherwise the seed fixes them.
    """
    data = np.ascontiguousarray(x, dtype=np.float32)
    n = data.shape[0]
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must lie in 1..{n}, got {n_clusters}")
    if niter < 1 or nredo < 1:
        raise ValueError("niter and nredo must be >= 1")
    if init not in ("auto", "k-means++", "random"):
        raise ValueError(f"init must be auto, k-means++ or random, got {init!r}")
    if init == "auto":
        init = "k-means++" if n * n_clusters * data.shape[1] <= KMEANSPP_MAX_WORK else "random"
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is None:
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=n_clusters, random_state=seed, n_init=nredo, max_iter=niter)
        assign = model.fit_predict(data)
        return KMeansResult(assign.astype(np.int64), float(model.inertia_), "sklearn", "k-means++")

    gpu = bool(use_gpu and faiss.get_num_gpus() > 0)
    backend = "faiss-gpu" if gpu else "faiss-cpu"

    def run(run_seed: int, runs: int, start: np.ndarray | None) -> tuple[float, np.ndarray]:
        km = faiss.Kmeans(data.shape[1], n_clusters, niter=niter, nredo=runs, seed=run_seed, gpu=gpu,
                          verbose=False, min_points_per_centroid=1, max_points_per_centroid=max(n, 1))
        km.train(data, init_centroids=start)
        dist, assign = km.index.search(data, 1)
        return float(dist.sum(dtype=np.float64)), assign[:, 0].astype(np.int64)

    if init == "random":
        objective, assign = run(seed, nredo, None)
        return KMeansResult(assign, objective, backend, init)
    best: tuple[float, np.ndarray] | None = None
    for r in range(nredo):
        start = kmeans_plus_plus(data, n_clusters, np.random.default_rng(seed + r)).astype(np.float32)
        found = run(seed + r, 1, start)
        if best is None or found[0] < best[0]:
            best = found
    assert best is not None
    return KMeansResult(best[1], best[0], backend, init)


@dataclass(frozen=True)
class Contingency:
    """Non-zero cells ``n_ij`` of the class × cluster table, with the class and cluster sizes."""

    cells: np.ndarray  # (cells,) int64
    cell_class: np.ndarray  # class index i of each cell
    cell_cluster: np.ndarray  # cluster index j of each cell
    class_sizes: np.ndarray  # a_i
    cluster_sizes: np.ndarray  # b_j
    n: int


def contingency(labels: np.ndarray, clusters: np.ndarray) -> Contingency:
    """Count items per (class, cluster) pair, keeping only the pairs that occur."""
    labels = np.asarray(labels)
    clusters = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape != clusters.shape:
        raise ValueError(f"labels and clusters must be 1-D of one length, got {labels.shape} and {clusters.shape}")
    _, li = np.unique(labels, return_inverse=True)
    _, ci = np.unique(clusters, return_inverse=True)
    li = li.reshape(-1).astype(np.int64)
    ci = ci.reshape(-1).astype(np.int64)
    n_clusters = int(ci.max()) + 1 if ci.size else 0
    keys, cells = np.unique(li * n_clusters + ci, return_counts=True)
    return Contingency(
        cells.astype(np.int64),
        keys // max(n_clusters, 1),
        keys % max(n_clusters, 1),
        np.bincount(li).astype(np.int64),
        np.bincount(ci).astype(np.int64),
        int(labels.shape[0]),
    )


def _entropy(sizes: np.ndarray, n: int) -> float:
    p = sizes[sizes > 0] / n
    return float(-(p * np.log(p)).sum())


def nmi(labels: np.ndarray, clusters: np.ndarray) -> float:
    """``NMI = I(C;Ω) / ((H(C) + H(Ω)) / 2)`` (natural log), as sklearn's ``normalized_mutual_info_score``
    with ``average_method="arithmetic"``.

    ``I(C;Ω) = Σ_ij (n_ij/N) log(N n_ij / (a_i b_j))``, ``H(C) = −Σ_i (a_i/N) log(a_i/N)``. Like sklearn,
    one class and one cluster (or no items) give 1.0; otherwise one class or one cluster, or zero mutual
    information, give 0.0.
    """
    t = contingency(labels, clusters)
    if t.n == 0 or (t.class_sizes.size == 1 and t.cluster_sizes.size == 1):
        return 1.0
    if t.class_sizes.size == 1 or t.cluster_sizes.size == 1:
        return 0.0  # one side has zero entropy, so I(C;Ω) = 0
    cells = t.cells.astype(np.float64)
    a = t.class_sizes[t.cell_class].astype(np.float64)
    b = t.cluster_sizes[t.cell_cluster].astype(np.float64)
    n = float(t.n)
    terms = cells / n * (np.log(cells) + np.log(n) - np.log(a) - np.log(b))
    terms[np.abs(terms) < np.finfo(np.float64).eps] = 0.0  # as sklearn, so exact zeros stay zero
    mi = max(float(terms.sum()), 0.0)
    if mi == 0.0:
        return 0.0
    h_mean = (_entropy(t.class_sizes, t.n) + _entropy(t.cluster_sizes, t.n)) / 2.0
    return float(mi / max(h_mean, np.finfo(np.float64).eps))


def _pairs(counts: np.ndarray) -> int:
    """``Σ C(c, 2)``, exactly, in integers."""
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def pairwise_precision_recall_f1(labels: np.ndarray, clusters: np.ndarray) -> tuple[float, float, float]:
    """Pairwise clustering precision, recall and F-measure over unordered item pairs.

    ``TP = Σ_ij C(n_ij, 2)`` (same cluster, same class), ``TP+FP = Σ_j C(b_j, 2)`` (same cluster),
    ``TP+FN = Σ_i C(a_i, 2)`` (same class); ``P = TP/(TP+FP)``, ``R = TP/(TP+FN)``, ``F1 = 2PR/(P+R)``.
    A ratio with a zero denominator is 0, and F1 is 0 when P + R = 0.
    """
    t = contingency(labels, clusters)
    tp = _pairs(t.cells)
    same_cluster = _pairs(t.cluster_sizes)
    same_class = _pairs(t.class_sizes)
    precision = tp / same_cluster if same_cluster else 0.0
    recall = tp / same_class if same_class else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)


def pairwise_f1(labels: np.ndarray, clusters: np.ndarray) -> float:
    """The pairwise F-measure of a clustering against the classes (see ``pairwise_precision_recall_f1``)."""
    return pairwise_precision_recall_f1(labels, clusters)[2]

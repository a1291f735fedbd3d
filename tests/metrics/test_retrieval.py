"""Recall@K, MAP@R and R-precision from neighbour labels: hand-worked cases and brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest

from daml_cli.metrics.retrieval import average_precision_at_r_per_query, r_precision_per_query, recall_at_k_per_query


def recall_at_k(nl: np.ndarray, ql: np.ndarray, k: int) -> float:
    """Recall@K = mean over queries of hit_K (the per-query values are what the package computes)."""
    return float(np.mean(recall_at_k_per_query(nl, ql, [k])[k]))


def map_at_r(nl: np.ndarray, ql: np.ndarray, r: np.ndarray) -> float:
    """MAP@R = mean over queries of AP@R."""
    return float(np.mean(average_precision_at_r_per_query(nl, ql, r)))


def r_precision(nl: np.ndarray, ql: np.ndarray, r: np.ndarray) -> float:
    """R-precision = mean over queries of RP."""
    return float(np.mean(r_precision_per_query(nl, ql, r)))


def loop_ap_at_r(row: list[int], label: int, r: int) -> float:
    """AP@R straight from the definition: (1/R) sum_{i<=R} P(i) rel(i)."""
    total = 0.0
    for i in range(1, r + 1):
        if row[i - 1] == label:
            total += sum(1 for x in row[:i] if x == label) / i
    return total / r


def test_hand_worked_rows() -> None:
    # query label 7; neighbours nearest first.
    nl = np.array([
        [7, 0, 7, 0, 0],  # R=3: rel=1,0,1 -> AP = (1/1 + 2/3)/3 = 5/9; RP = 2/3; first hit at rank 1
        [0, 7, 0, 0, 7],  # R=2: rel=0,1 -> AP = (1/2)/2 = 1/4;        RP = 1/2; first hit at rank 2
        [0, 0, 0, 0, 7],  # R=1: rel=0   -> AP = 0;                    RP = 0;   first hit at rank 5
        [0, 0, 0, 0, 0],  # R=1: no hit  -> AP = 0;                    RP = 0;   never hit
    ])
    ql = np.array([7, 7, 7, 7])
    r = np.array([3, 2, 1, 1])
    np.testing.assert_allclose(average_precision_at_r_per_query(nl, ql, r), [5 / 9, 1 / 4, 0, 0])
    np.testing.assert_allclose(r_precision_per_query(nl, ql, r), [2 / 3, 1 / 2, 0, 0])
    hits = recall_at_k_per_query(nl, ql, [1, 2, 4, 5, 8])
    assert hits[1].tolist() == [True, False, False, False]
    assert hits[2].tolist() == [True, True, False, False]
    assert hits[4].tolist() == [True, True, False, False]
    assert hits[5].tolist() == [True, True, True, False]
    assert hits[8].tolist() == [True, True, True, False]  # K beyond k: as many as there are
    assert recall_at_k(nl, ql, 2) == pytest.approx(0.5)
    assert map_at_r(nl, ql, r) == pytest.approx((5 / 9 + 1 / 4) / 4)
    assert r_precision(nl, ql, r) == pytest.approx((2 / 3 + 1 / 2) / 4)


def test_map_at_r_only_counts_the_first_r_places() -> None:
    # Hits after place R do not count, and the divisor is R, not the number of hits.
    nl = np.array([[1, 0, 1, 1]])
    assert map_at_r(nl, np.array([1]), np.array([2])) == pytest.approx(0.5)  # (1/1)/2
    assert r_precision(nl, np.array([1]), np.array([2])) == pytest.approx(0.5)
    assert map_at_r(nl, np.array([1]), np.array([3])) == pytest.approx((1 + 2 / 3) / 3)


def test_missing_neighbours_never_match() -> None:
    nl = np.array([[-1, -1]])
    assert recall_at_k(nl, np.array([0]), 2) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_against_brute_force_loops(seed: int) -> None:
    rng = np.random.default_rng(seed)
    q, k = 30, 9
    nl = rng.integers(0, 3, size=(q, k))
    ql = rng.integers(0, 3, size=q)
    r = rng.integers(1, k + 1, size=q)
    ap = average_precision_at_r_per_query(nl, ql, r)
    rp = r_precision_per_query(nl, ql, r)
    hits = recall_at_k_per_query(nl, ql, [1, 3, 9])
    for i in range(q):
        row = nl[i].tolist()
        assert ap[i] == pytest.approx(loop_ap_at_r(row, int(ql[i]), int(r[i])))
        assert rp[i] == pytest.approx(sum(x == ql[i] for x in row[: r[i]]) / r[i])
        for kk in (1, 3, 9):
            assert hits[kk][i] == (ql[i] in row[:kk])


def test_bad_r_is_rejected() -> None:
    nl = np.zeros((2, 3), dtype=int)
    ql = np.zeros(2, dtype=int)
    with pytest.raises(ValueError, match="r must lie"):
        map_at_r(nl, ql, np.array([0, 1]))
    with pytest.raises(ValueError, match="r must lie"):
        r_precision(nl, ql, np.array([1, 4]))
    with pytest.raises(ValueError, match="K must be"):
        recall_at_k(nl, ql, 0)

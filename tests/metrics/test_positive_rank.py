"""first_positive_ranks and same_class_items against plain loops (float64 distances, ties by index)."""

from __future__ import annotations

import numpy as np
import pytest

from daml_cli.metrics.positive_rank import first_positive_ranks, same_class_items


def loop_rank(x_q: np.ndarray, gallery: np.ndarray, positives: set[int], excluded: int) -> int:
    """Sort every gallery item but the excluded one by (float64 squared distance, index); the place of the
    first positive, or -1 when there is none."""
    d = ((gallery.astype(np.float64) - x_q.astype(np.float64)) ** 2).sum(axis=1)
    order = sorted((float(d[g]), g) for g in range(len(gallery)) if g != excluded)
    for place, (_, g) in enumerate(order):
        if g in positives:
            return place
    return -1


def tie_data(n: int, dim: int, seed: int) -> np.ndarray:
    """Small integers: exact float32 arithmetic, many exact ties and duplicates."""
    return np.random.default_rng(seed).integers(-2, 3, size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("chunk_rows,workers", [(1, 1), (4, 2), (7, 3), (512, 1)])
def test_all_against_all_equals_a_plain_loop(seed: int, chunk_rows: int, workers: int) -> None:
    n = 50
    x = tie_data(n, 3, seed)
    x[7] = x[3]  # an exact duplicate of a query
    codes = np.random.default_rng(seed + 10).integers(0, 8, size=n)
    rows = np.arange(n)
    positives = same_class_items(codes, rows)
    got = first_positive_ranks(x, x, positives, rows, chunk_rows=chunk_rows, workers=workers)
    expected = [loop_rank(x[q], x, {g for g in range(n) if g != q and codes[g] == codes[q]}, q) for q in range(n)]
    np.testing.assert_array_equal(got, expected)


def test_query_against_a_separate_gallery_and_missing_positives() -> None:
    rng = np.random.default_rng(5)
    gallery = tie_data(30, 2, 6)
    queries = tie_data(9, 2, 7)
    positives = np.full((9, 3), -1, dtype=np.int64)
    for q in range(8):  # the last query has none
        positives[q, : 1 + q % 3] = rng.choice(30, size=1 + q % 3, replace=False)
    got = first_positive_ranks(gallery, queries, positives, chunk_rows=4, workers=2)
    expected = [loop_rank(queries[q], gallery, {int(p) for p in positives[q] if p >= 0}, -1) for q in range(9)]
    assert expected[-1] == -1
    np.testing.assert_array_equal(got, expected)


def test_an_excluded_positive_does_not_count() -> None:
    x = np.array([[0.0], [1.0], [3.0], [1.0]], dtype=np.float32)
    # Query 1's positives are 0 and 1 (itself, excluded): the first one left is 0, behind item 3 (a duplicate
    # of the query at distance 0) -> rank 1; ties with 0 at distance 1: none.
    got = first_positive_ranks(x, x[[1]], np.array([[1, 0]]), np.array([1]), workers=1)
    assert got.tolist() == [1]
    # Only the excluded item as positive: no positive at all.
    assert first_positive_ranks(x, x[[1]], np.array([[1, -1]]), np.array([1]), workers=1).tolist() == [-1]


def test_ties_with_the_first_positive_go_to_the_lower_index() -> None:
    # Query at 0; items 1..4 all at distance 1 (+-1 on two axes); positive = item 3.
    x = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float32)
    got = first_positive_ranks(x, x[[0]], np.array([[3]]), np.array([0]), workers=1)
    assert got.tolist() == [2]  # items 1 and 2 tie with it and have lower indices; 4 does not count


def test_same_class_items_equals_a_loop() -> None:
    codes = np.random.default_rng(3).integers(0, 6, size=40)
    rows = np.array([0, 5, 9, 39, 5])
    got = same_class_items(codes, rows)
    width = np.bincount(codes).max() - 1
    assert got.shape == (5, width)
    for line, row in zip(got, rows):
        assert sorted(int(v) for v in line if v >= 0) == [g for g in range(40) if g != row and codes[g] == codes[row]]
        assert all(v == -1 for v in line[np.count_nonzero(line >= 0):])  # padding at the end


def test_bad_arguments() -> None:
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="dimension"):
        first_positive_ranks(x, np.zeros((1, 3), np.float32), np.array([[0]]))
    with pytest.raises(ValueError, match="outside"):
        first_positive_ranks(x, x[:1], np.array([[9]]))
    with pytest.raises(ValueError, match="one entry per query"):
        first_positive_ranks(x, x[:2], np.array([[0], [1]]), np.array([0]))
    with pytest.raises(ValueError, match="chunk_rows"):
        first_positive_ranks(x, x[:1], np.array([[0]]), chunk_rows=0)

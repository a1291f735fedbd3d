"""The symmetric all-against-all search equals a brute-force float64 ranking (ties by index, self removed)."""

from __future__ import annotations

import numpy as np
import pytest

from daml_cli.metrics.evaluate import evaluate_embeddings
from daml_cli.metrics import retrieval_search as search_module
from daml_cli.metrics import knn_symmetric
from daml_cli.metrics.knn_symmetric import TopLists, symmetric_knn


def brute_force(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Float64 distances, stable argsort (ties -> lower index), own index removed, -1 / inf padding."""
    d = ((x[:, None, :].astype(np.float64) - x[None, :, :].astype(np.float64)) ** 2).sum(-1)
    n = len(x)
    kk = min(k, n)
    out_i = np.full((n, kk), -1, dtype=np.int64)
    out_d = np.full((n, kk), np.inf)
    for row in range(n):
        order = [j for j in np.argsort(d[row], kind="stable") if j != row][:kk]
        out_i[row, : len(order)] = order
        out_d[row, : len(order)] = d[row, order]
    return out_i, out_d


def tie_data(n: int, dim: int = 3, seed: int = 0) -> np.ndarray:
    """Small integers: exact float32 arithmetic, many exact ties and duplicates (also of a query)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=(n, dim)).astype(np.float32)
    x[5] = x[2]
    return x


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("block_rows", [1, 4, 7, 16, 40, 64])
@pytest.mark.parametrize("k", [1, 3, 10, 39, 40])
def test_equals_brute_force_on_tie_heavy_data(block_rows: int, k: int, workers: int) -> None:
    x = tie_data(40)
    res = symmetric_knn(x, k, block_rows=block_rows, workers=workers)
    ref_i, ref_d = brute_force(x, k)
    np.testing.assert_array_equal(res.indices, ref_i)
    np.testing.assert_allclose(res.distances, ref_d, rtol=0, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 40])
def test_without_faiss_the_diagonal_blocks_use_torch(k: int, monkeypatch) -> None:
    monkeypatch.setattr(knn_symmetric, "available", lambda: False)
    x = tie_data(40)
    for block_rows in (3, 16):
        np.testing.assert_array_equal(symmetric_knn(x, k, block_rows=block_rows, workers=2).indices,
                                      brute_force(x, k)[0])


@pytest.mark.parametrize("norms", [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 4.0, 0.0]])
def test_filter_passes_every_entry_at_or_under_its_limit(norms: list[float]) -> None:
    """Both sides, raw-product filter (equal norms) and formed values (varied norms): every entry whose value
    is <= its limit passes, equal ones included (a lower index can still win the tie)."""
    product = np.array([[1.0, 2.0, 3.0], [3.0, 3.0, 0.5], [-1.0, 0.0, 2.0]], dtype=np.float32)
    sq = np.array(norms, dtype=np.float32)
    limits = np.array([2.0, 3.5, 1.0], dtype=np.float32)
    spare = lambda rows, cols: np.empty((rows, cols), np.float32)  # noqa: E731
    for on_columns in (True, False):
        values = product + (sq[None, :] if on_columns else sq[:, None])
        bound = limits[:, None] if on_columns else limits[None, :]
        mask = knn_symmetric._filter_side(product, np.empty(product.shape, bool), limits, sq, on_columns, spare)
        must = values <= bound
        assert np.all(mask[must]), (on_columns, mask, must)
        if knn_symmetric._norms_vary(sq):
            np.testing.assert_array_equal(mask, must)  # values formed: exactly the entries at or under


def test_product_limits_admit_every_value_equal_to_its_threshold() -> None:
    """The raw-product limit must pass p whenever fl(p + s) <= t, also when t is exactly fl(p + s) and the
    float32 addition rounded down (rounding is what the margin is for). Checked on a million random cases."""
    rng = np.random.default_rng(0)
    p = (rng.standard_normal(10**6) * 0.7 - 1.0).astype(np.float32)
    s = (1.0 + rng.standard_normal(10**6) * 1e-4).astype(np.float32)
    t = p + s  # float32 sum: the threshold equals the entry's value
    for lo in range(0, p.size, 1000):  # one block of 1000 columns with its own norms per call
        block = slice(lo, lo + 1000)
        limits = knn_symmetric._product_limits(t[block], s[block])
        # limits[i] is for row i, whatever column j: p_ij = p[i] with s_j = s[i] is one possible column.
        assert np.all(p[block] <= limits)


def test_varied_norms_give_the_brute_force_answer() -> None:
    rng = np.random.default_rng(4)
    x = (rng.integers(-2, 3, size=(60, 3)) * rng.integers(1, 4, size=(60, 1))).astype(np.float32)
    for block_rows in (7, 60):
        np.testing.assert_array_equal(symmetric_knn(x, 9, block_rows=block_rows, workers=2).indices,
                                      brute_force(x, 9)[0])


def test_normalised_rows_take_the_raw_product_filter_and_match_the_one_sided_search() -> None:
    from tests.helpers import knn_search

    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 24)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert not knn_symmetric._norms_vary(np.einsum("ij,ij->i", x, x))
    res = symmetric_knn(x, 20, block_rows=64, workers=2)
    ref = knn_search(x, x, 20, exclude_self=True, device="cpu")
    np.testing.assert_array_equal(res.indices, ref.indices)


def test_merge_keeps_the_k_best_by_value_then_index() -> None:
    rng = np.random.default_rng(0)
    lists = TopLists(6, 4)
    expected: dict[int, list[tuple[float, int]]] = {row: [] for row in range(6)}
    for _ in range(30):  # batches of candidates, small integer values: many exact ties
        rows = np.sort(rng.integers(0, 6, size=9))
        cols = rng.integers(0, 50, size=9)
        vals = rng.integers(0, 4, size=9).astype(np.float32)
        lists.merge(rows, cols, vals)
        for row, col, val in zip(rows, cols, vals):
            expected[int(row)] = sorted(expected[int(row)] + [(float(val), int(col))])[:4]
    for row in range(6):
        want = expected[row] + [(knn_symmetric.FLT_MAX, -1)] * (4 - len(expected[row]))
        assert list(zip(lists.values[row].tolist(), lists.indices[row].tolist())) == want


def test_k_equal_to_n_pads_the_self_slot() -> None:
    x = tie_data(12)
    res = symmetric_knn(x, 12, block_rows=5)
    assert np.all(res.indices[:, -1] == -1) and np.all(np.isinf(res.distances[:, -1]))
    for row in range(12):
        assert sorted(res.indices[row, :-1]) == [j for j in range(12) if j != row]


def test_first_block_wider_than_k_and_later_blocks() -> None:
    # block_rows >= k: each row's heap is written from its first block; later blocks go through the heap.
    x = tie_data(150, dim=4, seed=3)
    for block_rows in (20, 33, 150):
        res = symmetric_knn(x, 17, block_rows=block_rows)
        np.testing.assert_array_equal(res.indices, brute_force(x, 17)[0])


def test_random_floats_match_the_one_sided_search() -> None:
    from tests.helpers import knn_search

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 16)).astype(np.float32) * 3
    res = symmetric_knn(x, 25, block_rows=64)
    ref = knn_search(x, x, 25, exclude_self=True, device="cpu")
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.distances, ref.distances, rtol=1e-5, atol=1e-4)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        symmetric_knn(np.zeros((0, 3), np.float32), 1)
    with pytest.raises(ValueError):
        symmetric_knn(np.zeros((4, 3), np.float32), 0)
    with pytest.raises(ValueError):
        symmetric_knn(np.zeros((4, 3), np.float32), 1, block_rows=0)


@pytest.mark.parametrize("seed", range(3))
def test_evaluate_takes_the_symmetric_path_and_agrees_with_the_chunked_one(seed: int, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    labels = rng.integers(0, 9, size=n)
    x = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)
    monkeypatch.setattr(search_module, "symmetric_knn",
                        lambda emb, k: symmetric_knn(emb, k, block_rows=16))
    sym = evaluate_embeddings(x, labels, ks=(1, 2, 5, 50), metrics=("recall", "map@r", "r_precision"), device="cpu")
    plain = evaluate_embeddings(x, labels, ks=(1, 2, 5, 50), metrics=("recall", "map@r", "r_precision"),
                                device="cpu", chunk_size=7)
    assert "symmetric" in sym.backend and plain.backend == "torch-cpu"
    assert sym.metrics == pytest.approx(plain.metrics, abs=1e-12)
    assert sym.excluded_queries == plain.excluded_queries


def test_the_symmetric_search_is_the_default_and_false_refuses_it() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    labels = rng.integers(0, 20, size=200)
    default = evaluate_embeddings(x, labels, ks=(1, 10), metrics=("recall",), device="cpu")
    chunked = evaluate_embeddings(x, labels, ks=(1, 10), metrics=("recall",), device="cpu", symmetric=False)
    assert "symmetric" in default.backend and chunked.backend == "torch-cpu"
    assert default.metrics == chunked.metrics
    masked = evaluate_embeddings(x, labels, ks=(1,), metrics=("recall",), device="cpu",
                                 query_mask=np.arange(200) < 100, gallery_mask=np.arange(200) >= 100)
    assert masked.backend == "torch-cpu"  # query/gallery sets: the chunked search

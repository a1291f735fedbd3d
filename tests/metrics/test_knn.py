"""Exact chunked k-NN search: equals a brute-force numpy ranking, with ties ordered by gallery index."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from daml_cli.errors import ConfigError
from daml_cli.metrics.knn import ExactKnn, resolve_backend, torch_topk_block
from tests.helpers import knn_search


def brute_force(queries: np.ndarray, gallery: np.ndarray, k: int, exclude: np.ndarray | None = None):
    """Float64 squared distances, stable argsort (ties -> lower index), excluded index removed, -1 padding."""
    q = queries.astype(np.float64)
    g = gallery.astype(np.float64)
    d = ((q[:, None, :] - g[None, :, :]) ** 2).sum(-1)
    out_i = np.full((len(q), min(k, len(g))), -1, dtype=np.int64)
    out_d = np.full(out_i.shape, np.inf)
    for row in range(len(q)):
        order = [j for j in np.argsort(d[row], kind="stable") if exclude is None or j != exclude[row]]
        order = order[: out_i.shape[1]]
        out_i[row, : len(order)] = order
        out_d[row, : len(order)] = d[row, order]
    return out_i, out_d


def tie_data(n: int = 23, dim: int = 3, seed: int = 0) -> np.ndarray:
    """Small integer coordinates: many exact ties and exact duplicates; float32 arithmetic stays exact."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=(n, dim)).astype(np.float32)
    for j in (5, 11):  # make sure there are exact duplicates
        if j < n:
            x[j] = x[2]
    return x


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 23, 100])
@pytest.mark.parametrize("k", [1, 4, 10, 22])
def test_all_against_all_with_ties_matches_brute_force(chunk_size: int, k: int) -> None:
    x = tie_data()
    res = knn_search(x, x, k, exclude_self=True, chunk_size=chunk_size, device="cpu")
    ref_i, ref_d = brute_force(x, x, k, np.arange(len(x)))
    np.testing.assert_array_equal(res.indices, ref_i)
    np.testing.assert_allclose(res.distances, ref_d, rtol=0, atol=1e-6)
    assert res.backend == "torch-cpu"


def test_k_equal_to_gallery_size_pads_the_excluded_slot() -> None:
    x = tie_data(n=9)
    res = knn_search(x, x, 9, exclude_self=True, chunk_size=4, device="cpu")
    assert res.indices.shape == (9, 9)
    assert np.all(res.indices[:, -1] == -1) and np.all(np.isinf(res.distances[:, -1]))
    ref_i, _ = brute_force(x, x, 9, np.arange(9))
    np.testing.assert_array_equal(res.indices, ref_i)
    for row in range(9):  # every other item exactly once, never the query itself
        assert sorted(res.indices[row, :-1]) == [j for j in range(9) if j != row]


def test_duplicate_of_the_query_is_found_at_distance_zero() -> None:
    x = tie_data()
    res = knn_search(x, x, 3, exclude_self=True, device="cpu")
    dup = [j for j in range(len(x)) if j != 5 and np.array_equal(x[j], x[5])]
    # 2, 5, 11 are identical (possibly with more): query 5 gets the lowest-index duplicates first.
    assert list(res.indices[5, : min(3, len(dup))]) == dup[: min(3, len(dup))]
    assert res.distances[5, 0] == 0.0


@pytest.mark.parametrize("chunk_size", [1, 5, 64])
def test_random_float_chunked_equals_unchunked_and_numpy(chunk_size: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((61, 8)).astype(np.float32) * 3.0  # not normalised on purpose
    whole = knn_search(x, x, 12, exclude_self=True, chunk_size=len(x), device="cpu")
    part = knn_search(x, x, 12, exclude_self=True, chunk_size=chunk_size, device="cpu")
    np.testing.assert_array_equal(part.indices, whole.indices)
    # BLAS may round a 1-row product differently from a 61-row one: distances agree to float32 precision.
    np.testing.assert_allclose(part.distances, whole.distances, rtol=1e-6, atol=0)
    ref_i, ref_d = brute_force(x, x, 12, np.arange(len(x)))
    np.testing.assert_array_equal(whole.indices, ref_i)
    np.testing.assert_allclose(whole.distances, ref_d, rtol=1e-4, atol=1e-4)


def test_query_against_gallery_without_exclusion() -> None:
    rng = np.random.default_rng(2)
    gallery = rng.integers(-2, 3, size=(30, 4)).astype(np.float32)
    queries = np.concatenate([gallery[:3], rng.integers(-2, 3, size=(7, 4)).astype(np.float32)])
    res = knn_search(queries, gallery, 6, chunk_size=4, device="cpu")
    ref_i, _ = brute_force(queries, gallery, 6)
    np.testing.assert_array_equal(res.indices, ref_i)
    assert res.distances[0, 0] == 0.0  # a query that is also in the gallery finds itself when not excluded


def test_exclude_array_removes_given_gallery_index_only() -> None:
    x = tie_data()
    exclude = np.array([2, -1, 7] + [-1] * (len(x) - 3))
    res = ExactKnn(x, device="cpu", chunk_size=2).search(x, 5, exclude)
    ref_i, _ = brute_force(x, x, 5, exclude)
    np.testing.assert_array_equal(res.indices, ref_i)
    assert 2 not in res.indices[0] and 1 in res.indices[1]


def test_topk_block_breaks_boundary_ties_by_index() -> None:
    partial = torch.tensor([[1.0, 0.0, 0.0, 0.0, 2.0], [3.0, 3.0, 1.0, 3.0, 3.0]])
    values, indices = torch_topk_block(partial, 2)
    assert indices.tolist() == [[1, 2], [2, 0]]
    assert values.tolist() == [[0.0, 0.0], [1.0, 3.0]]


def test_faiss_path_matches_torch_path_with_ties() -> None:
    pytest.importorskip("faiss")
    x = tie_data(n=40, seed=3)
    for k in (1, 5, 39, 40):
        torch_res = knn_search(x, x, k, exclude_self=True, chunk_size=7, device="torch-cpu")
        faiss_res = knn_search(x, x, k, exclude_self=True, chunk_size=7, device="faiss-cpu")
        np.testing.assert_array_equal(faiss_res.indices, torch_res.indices)
        np.testing.assert_allclose(faiss_res.distances, torch_res.distances, atol=1e-5)
        assert faiss_res.backend == "faiss-cpu"


def test_device_errors() -> None:
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_backend("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="cuda"):
            resolve_backend("torch-cuda")
    assert resolve_backend("cpu") == "torch-cpu"


def test_bad_arguments() -> None:
    x = tie_data()
    with pytest.raises(ValueError, match="k must be"):
        knn_search(x, x, 0)
    with pytest.raises(ValueError, match="dimension"):
        knn_search(x[:, :2], x, 3)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        knn_search(bad, x, 3)


def test_faiss_k_limit_falls_back_to_torch() -> None:
    pytest.importorskip("faiss")
    x = tie_data(n=30, seed=4)
    searcher = ExactKnn(x, device="faiss-cpu", chunk_size=8)
    searcher._faiss.max_k = 5  # pretend to be a GPU index with a small k limit
    res = searcher.search(x, 10, np.arange(30))
    assert res.backend == "torch-cpu"
    ref_i, _ = brute_force(x, x, 10, np.arange(30))
    np.testing.assert_array_equal(res.indices, ref_i)

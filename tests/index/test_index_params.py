"""Default index parameters derived from gallery size and dimension, and their validation."""

from __future__ import annotations

import pytest

from daml_cli.errors import ConfigError
from daml_cli.index.params import (
    MIN_POINTS_PER_CENTROID,
    default_nbits,
    default_nlist,
    default_nprobe,
    default_pq_m,
    parse_param_options,
    resolve_params,
)


@pytest.mark.parametrize(("dimension", "m"), [(128, 32), (512, 64), (16, 4), (8, 2), (7, 1), (3, 1), (100, 25)])
def test_default_pq_m_divides_dimension(dimension: int, m: int) -> None:
    assert default_pq_m(dimension) == m and dimension % m == 0


def test_defaults_scale_with_gallery_size() -> None:
    assert default_nlist(1_000_000) == 4000 and default_nlist(10_000) == 256  # 4·√N, capped by N/39
    assert default_nbits(10_000) == 8 and default_nbits(1_000) == 4 and default_nbits(5_000) == 7
    assert default_nprobe(4000) == 64 and default_nprobe(4) == 4 and default_nprobe(100) == 10


@pytest.mark.parametrize("count", [624, 700, 5_000, 50_000])
def test_resolved_ivfpq_always_trainable(count: int) -> None:
    params = resolve_params("ivfpq", count, 64, None)
    assert count >= MIN_POINTS_PER_CENTROID * max(params["nlist"], 2 ** params["nbits"])
    assert 1 <= params["nprobe"] <= params["nlist"]


def test_ivfpq_refusals() -> None:
    with pytest.raises(ConfigError, match="needs at least 624 vectors"):
        resolve_params("ivfpq", 623, 64, None)
    with pytest.raises(ConfigError, match="needs at least 9984"):
        resolve_params("ivfpq", 5000, 64, {"nbits": 8})
    with pytest.raises(ConfigError, match="nbits must be at most 16"):
        resolve_params("ivfpq", 10**7, 64, {"nbits": 17})
    assert resolve_params("ivfpq", 5000, 64, {"nprobe": 10**6})["nprobe"] == default_nlist(5000)


def test_hnsw_and_flat() -> None:
    assert resolve_params("flat", 10, 4, None) == {}
    assert resolve_params("hnsw", 10, 4, {"efSearch": 7}) == {"M": 32, "efConstruction": 80, "efSearch": 7}
    with pytest.raises(ConfigError, match="M must be at least 2"):
        resolve_params("hnsw", 10, 4, {"M": 1})
    with pytest.raises(ConfigError, match="unknown flat parameter"):
        resolve_params("flat", 10, 4, {"nlist": 2})
    with pytest.raises(ConfigError, match="positive integer"):
        resolve_params("hnsw", 10, 4, {"M": 0})


def test_parse_param_options() -> None:
    assert parse_param_options(["nlist=64", " m = 8 "]) == {"nlist": 64, "m": 8}
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_param_options(["nlist"])
    with pytest.raises(ConfigError, match="must be an integer"):
        parse_param_options(["nlist=many"])

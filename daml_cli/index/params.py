"""Build and search parameters for each index type: defaults derived from the gallery size, and validation.

Pure functions (no FAISS) so the choices can be tested and explained on their own.

- ``flat``: exact search, no parameters.
- ``ivfpq``: ``nlist`` coarse cells, ``m`` sub-quantisers of ``nbits`` bits each, ``nprobe`` cells searched.
  k-means in FAISS wants at least 39 training points per centroid, so every codebook (``nlist`` cells and
  ``2**nbits`` PQ centroids) must satisfy ``N >= 39 * size``; smaller galleries are refused (use ``flat``).
- ``hnsw``: graph degree ``M``, ``efConstruction`` (build beam) and ``efSearch`` (search beam).
"""

from __future__ import annotations

import math
from typing import Any

from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote
from daml_cli.index.metadata import INDEX_TYPES

MIN_POINTS_PER_CENTROID = 39
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "flat": (),
    "ivfpq": ("nlist", "m", "nbits", "nprobe"),
    "hnsw": ("M", "efConstruction", "efSearch"),
}
HNSW_DEFAULTS = {"M": 32, "efConstruction": 80, "efSearch": 64}


def check_index_type(index_type: str) -> str:
    """Return `index_type` if known, else raise ConfigError listing the choices."""
    if index_type not in INDEX_TYPES:
        raise ConfigError(f"unknown index type {quote(index_type)}", f"use one of {', '.join(INDEX_TYPES)}")
    return index_type


def default_pq_m(dimension: int) -> int:
    """Sub-quantiser count: the largest divisor of D that is at most min(64, D // 4) (≥ 4 dims per code byte)."""
    cap = max(1, min(64, dimension // 4))
    return max(m for m in range(1, cap + 1) if dimension % m == 0)


def default_nlist(count: int) -> int:
    """Coarse cells: about 4·√N (FAISS's usual advice), capped so each cell has 39 training points."""
    return max(1, min(round(4 * math.sqrt(count)), count // MIN_POINTS_PER_CENTROID))


def default_nbits(count: int) -> int:
    """PQ bits per code: 8 (256 centroids) when N allows, fewer for small galleries, never below 4."""
    if count < MIN_POINTS_PER_CENTROID:
        return 4
    return int(max(4, min(8, math.floor(math.log2(count / MIN_POINTS_PER_CENTROID)))))


def default_nprobe(nlist: int) -> int:
    """Cells visited per query: ⌈√nlist⌉, at least 8, at most nlist."""
    return min(nlist, max(8, math.ceil(math.sqrt(nlist))))


def resolve_params(index_type: str, count: int, dimension: int, overrides: dict[str, Any] | None) -> dict[str, int]:
    """Fill in defaults for `index_type` given N=`count` vectors of D=`dimension`, then validate.

    Raises ConfigError for an unknown name, a non-integer or out-of-range value, or a gallery too small to
    train the requested codebooks.
    """
    check_index_type(index_type)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(PARAM_NAMES[index_type]))
    if unknown:
        known = ", ".join(PARAM_NAMES[index_type]) or "none"
        raise ConfigError(f"unknown {index_type} parameter(s) {', '.join(unknown)}", f"known: {known}")
    for name, value in overrides.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{index_type} parameter {name} must be a positive integer, got {quote(value)}")
    if index_type == "flat":
        return {}
    if index_type == "hnsw":
        params = {**HNSW_DEFAULTS, **overrides}
        if params["M"] < 2:
            raise ConfigError(f"hnsw parameter M must be at least 2, got {params['M']}")
        return params
    return _resolve_ivfpq(count, dimension, overrides)


def _resolve_ivfpq(count: int, dimension: int, overrides: dict[str, int]) -> dict[str, int]:
    nlist = overrides.get("nlist", default_nlist(count))
    m = overrides.get("m", default_pq_m(dimension))
    nbits = overrides.get("nbits", default_nbits(count))
    if dimension % m:
        raise ConfigError(f"ivfpq parameter m={m} must divide the dimension {dimension}",
                          f"e.g. m={default_pq_m(dimension)}")
    if nbits > 16:
        raise ConfigError(f"ivfpq parameter nbits must be at most 16, got {nbits}")
    needed = MIN_POINTS_PER_CENTROID * max(nlist, 2**nbits)
    if count < needed:
        raise ConfigError(
            f"ivfpq with nlist={nlist}, nbits={nbits} needs at least {needed} vectors to train, got {count}",
            "use --type flat (exact, fine for small galleries) or lower nlist/nbits",
        )
    nprobe = min(nlist, overrides.get("nprobe", default_nprobe(nlist)))
    return {"nlist": nlist, "m": m, "nbits": nbits, "nprobe": nprobe}


def parse_param_options(items: list[str]) -> dict[str, int]:
    """Parse CLI ``--param NAME=VALUE`` strings into integers, refusing malformed ones."""
    params: dict[str, int] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise ConfigError(f"--param expects NAME=VALUE, got {quote(item)}", "e.g. --param nlist=1024")
        try:
            params[name] = int(raw)
        except ValueError:
            raise ConfigError(f"--param {name} must be an integer, got {quote(raw)}") from None
    return params

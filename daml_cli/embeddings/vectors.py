"""Validation of embedding matrices before they reach FAISS or an EMB.npz file."""

from __future__ import annotations

import numpy as np

from daml_cli.errors import DamlError, DataError


def as_embedding_matrix(
    array: object,
    what: str,
    dimension: int | None = None,
    error: type[DamlError] = DataError,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return `array` as a C-contiguous float32 N×D matrix, or raise `error` naming `what`.

    FAISS needs contiguous float32 and silently misbehaves on NaN/inf, so both are enforced here.
    Integer and float inputs are cast; anything else (strings, objects, complex) is refused.
    """
    matrix = np.asarray(array)
    if matrix.dtype.kind not in "fiu":
        raise error(f"{what} must be numeric, got dtype {matrix.dtype}")
    if matrix.ndim != 2:
        raise error(
            f"{what} must be a 2-D array (N×D), got shape {tuple(matrix.shape)}",
            "a single vector must be reshaped to (1, D)" if matrix.ndim == 1 else None,
        )
    if matrix.shape[1] < 1:
        raise error(f"{what} has zero columns (dimension 0)")
    if matrix.shape[0] < 1 and not allow_empty:
        raise error(f"{what} has no rows")
    if dimension is not None and matrix.shape[1] != dimension:
        raise error(f"{what} have dimension {matrix.shape[1]}, expected {dimension}")
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if not np.isfinite(matrix).all():
        bad = int(np.count_nonzero(~np.isfinite(matrix).all(axis=1)))
        raise error(f"{what} contain NaN or infinite values in {bad} row(s)")
    return matrix


def as_label_vector(array: object, count: int, what: str, error: type[DamlError] = DataError) -> np.ndarray:
    """Return `array` as an int64 vector of length `count`, or raise `error` naming `what`."""
    labels = np.asarray(array)
    if labels.ndim != 1 or labels.shape[0] != count:
        raise error(f"{what} must be a 1-D array of {count} labels, got shape {tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        raise error(f"{what} must be integers, got dtype {labels.dtype}")
    return labels.astype(np.int64)


def as_path_list(values: object, count: int, what: str, error: type[DamlError] = DataError) -> list[str]:
    """Return `values` as a list of `count` non-empty strings, or raise `error` naming `what`."""
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "US":
            raise error(f"{what} must be a 1-D array of strings, got {values.dtype} of shape {values.shape}")
        items = [str(v) for v in values.tolist()]
    elif isinstance(values, (str, bytes)):
        raise error(f"{what} must be a sequence of paths, not a single string")
    else:
        items = list(values)  # type: ignore[call-overload]
        if not all(isinstance(item, str) for item in items):
            raise error(f"{what} must all be strings")
    if len(items) != count:
        raise error(f"{what} has {len(items)} entries, expected {count}")
    if any(not item for item in items):
        raise error(f"{what} contains an empty path")
    return items

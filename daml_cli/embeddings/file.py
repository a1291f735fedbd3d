"""EMB.npz: the embeddings `daml embed` writes and `daml evaluate` / `daml index build` read.

Arrays (no pickled objects anywhere, so `np.load(allow_pickle=False)` can read it):

- ``embeddings``: float32 N×D; ``paths``: unicode (N,); ``labels``: int64 (N,), absent when unlabelled;
- optional 0-d unicode arrays: ``checkpoint``, ``checkpoint_sha256``, ``root``, and JSON objects in
  ``preprocessing_json`` and ``extra_json``.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from daml_cli.atomic import atomic_path
from daml_cli.embeddings.vectors import as_embedding_matrix, as_label_vector, as_path_list
from daml_cli.errors import DataError

_STRING_KEYS = ("checkpoint", "checkpoint_sha256", "root")
_JSON_KEYS = ("preprocessing_json", "extra_json")
_KNOWN_KEYS = {"embeddings", "labels", "paths", *_STRING_KEYS, *_JSON_KEYS}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class EmbeddingsFile:
    """The contents of an EMB.npz file; `labels` is None for an unlabelled set (e.g. query folders)."""

    embeddings: np.ndarray
    paths: list[str]
    labels: np.ndarray | None = None
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    root: str | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def dimension(self) -> int:
        return int(self.embeddings.shape[1])


def write_embeddings(
    path: Path | str,
    embeddings: np.ndarray,
    labels: np.ndarray | list[int] | None,
    paths: list[str] | np.ndarray,
    *,
    checkpoint: str | Path | None = None,
    checkpoint_sha256: str | None = None,
    root: str | Path | None = None,
    preprocessing: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Validate and write an EMB.npz file atomically (also when `path` does not end in ``.npz``)."""
    path = Path(path)
    matrix = as_embedding_matrix(embeddings, "embeddings")
    arrays: dict[str, np.ndarray] = {
        "embeddings": matrix,
        "paths": np.asarray(as_path_list(paths, matrix.shape[0], "paths"), dtype=np.str_),
    }
    if labels is not None:
        arrays["labels"] = as_label_vector(labels, matrix.shape[0], "labels")
    if checkpoint_sha256 is not None and not _SHA256.match(str(checkpoint_sha256)):
        from daml_cli.safety.terminal import quote

        raise DataError(f"checkpoint_sha256 must be 64 lowercase hex digits, got {quote(checkpoint_sha256, 70)}")
    for key, value in (("checkpoint", checkpoint), ("checkpoint_sha256", checkpoint_sha256), ("root", root)):
        if value is not None:
            arrays[key] = np.asarray(str(value), dtype=np.str_)
    for key, value in (("preprocessing_json", preprocessing), ("extra_json", extra)):
        if value:
            try:
                arrays[key] = np.asarray(json.dumps(value, sort_keys=True), dtype=np.str_)
            except (TypeError, ValueError) as error:
                raise DataError(f"{key[:-5]} metadata is not JSON-serialisable: {error}") from error
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **arrays)  # a file object, so numpy never appends its own ".npz"
    return path


def read_embeddings(path: Path | str) -> EmbeddingsFile:
    """Read and validate an EMB.npz file, raising a one-line DataError for anything malformed."""
    from daml_cli.safety.files import require_regular_file

    path = Path(path)
    require_regular_file(path, "embeddings file", DataError, "create it with `daml embed`")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a readable .npz file (not a zip archive)", "re-create it with `daml embed`")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            arrays = {key: archive[key] for key in keys & _KNOWN_KEYS}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise DataError(f"{path} contains pickled objects, which daml refuses to load",
                            "write it with daml's write_embeddings") from error
        raise DataError(f"{path} is not a readable .npz file ({error})", "re-create it with `daml embed`") from error
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})", "re-create it with `daml embed`") from error
    for key in ("embeddings", "paths"):
        if key not in arrays:
            found = ", ".join(sorted(keys)) or "nothing"
            raise DataError(f"{path} has no '{key}' array (found: {found})", "re-create it with `daml embed`")
    embeddings = arrays["embeddings"]
    if embeddings.dtype != np.float32:
        raise DataError(f"{path}: embeddings must be float32, got {embeddings.dtype}")
    embeddings = as_embedding_matrix(embeddings, f"{path}: embeddings")
    count = embeddings.shape[0]
    paths = as_path_list(arrays["paths"], count, f"{path}: paths")
    labels = as_label_vector(arrays["labels"], count, f"{path}: labels") if "labels" in arrays else None
    strings = {key: _scalar_string(arrays, key, path) for key in _STRING_KEYS}
    if strings["checkpoint_sha256"] is not None and not _SHA256.match(strings["checkpoint_sha256"]):
        raise DataError(f"{path}: checkpoint_sha256 is not 64 lowercase hex digits")
    return EmbeddingsFile(
        embeddings=embeddings,
        paths=paths,
        labels=labels,
        checkpoint=strings["checkpoint"],
        checkpoint_sha256=strings["checkpoint_sha256"],
        root=strings["root"],
        preprocessing=_preprocessing(arrays, path),
        extra=_json_object(arrays, "extra_json", path),
    )


def _preprocessing(arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    """The recorded preprocessing, held to the same types and ranges as the config's data settings."""
    from daml_cli.config.ranges import check_preprocessing

    value = _json_object(arrays, "preprocessing_json", path)
    return check_preprocessing(value, str(path), DataError, complete=False) if value else {}


def _scalar_string(arrays: dict[str, np.ndarray], key: str, path: Path) -> str | None:
    if key not in arrays:
        return None
    value = arrays[key]
    if value.shape != () or value.dtype.kind != "U":
        raise DataError(f"{path}: '{key}' must be a single string, got {value.dtype} of shape {value.shape}")
    return str(value)


def _json_object(arrays: dict[str, np.ndarray], key: str, path: Path) -> dict[str, Any]:
    text = _scalar_string(arrays, key, path)
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: '{key}' is not valid JSON ({error.msg})") from error
    if not isinstance(value, dict):
        raise DataError(f"{path}: '{key}' must hold a JSON object, got {type(value).__name__}")
    return value

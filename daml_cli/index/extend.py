"""Extend a saved gallery index in place: append vectors with their paths and labels, under the index's lock.

Every refusal (dimension, checkpoint, root, labelled or not, a path already indexed, an on-disk index) happens
before anything is written; the index and its sidecar are then rewritten atomically by `store.save_index`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from daml_cli.embeddings.vectors import as_embedding_matrix, as_label_vector, as_path_list
from daml_cli.safety.files import require_regular_file
from daml_cli.errors import DataError, IndexFileError
from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.store import index_lock_path, index_params_of, load_index, save_index


def add_to_index(
    path: Path | str,
    embeddings: np.ndarray,
    paths: Sequence[str],
    labels: Sequence[int] | np.ndarray | None,
    checkpoint_sha256: str | None = None,
    root: str | None = None,
    class_names: dict[str, str] | None = None,
) -> IndexMetadata:
    """Append vectors with their paths and labels to the index at `path` and rewrite both files atomically.

    `class_names` (label -> name, as in the sidecar) are merged into the sidecar's.

    The new vectors get ids count..count+N-1. Refused when the dimension differs, when the checkpoint hash
    or root is known on both sides and differs, when one side is labelled and the other is not, or when a
    new path is already in the index (adding a file twice would double every result). The index is locked
    for the whole read-modify-write, so two concurrent adds cannot lose one.
    """
    from daml_cli.safety.locks import exclusive_lock

    require_regular_file(path, "index file", IndexFileError, "build one with `daml index build EMB.npz --out INDEX`")
    with exclusive_lock(index_lock_path(path), f"index {path}"):
        return _add_locked(Path(path), embeddings, paths, labels, checkpoint_sha256, root, class_names)


def _check_new_paths(path: Path, existing: Sequence[str], new_paths: Sequence[str]) -> None:
    known = set(existing)
    repeated = [p for p in new_paths if p in known]
    if repeated:
        raise DataError(
            f"{len(repeated):,} of the {len(new_paths):,} new images are already in index {path} (e.g. {repeated[0]})",
            "this embeddings file (or part of it) was added before; add only new images, or build a new index",
        )
    if len(set(new_paths)) != len(new_paths):
        twice = next(p for i, p in enumerate(new_paths) if p in new_paths[:i])
        raise DataError(f"the new embeddings list {twice} more than once", "re-create them with `daml embed`")


def _add_locked(
    path: Path,
    embeddings: np.ndarray,
    paths: Sequence[str],
    labels: Sequence[int] | np.ndarray | None,
    checkpoint_sha256: str | None,
    root: str | None,
    class_names: dict[str, str] | None,
) -> IndexMetadata:
    index, metadata = load_index(path, expected_checkpoint_sha256=checkpoint_sha256)
    if metadata.index_params.get("on_disk"):
        raise DataError(f"index {path} keeps its lists on disk and cannot be extended in place",
                        "rebuild it with every shard: `daml index build A.npz B.npz ... --type ivfpq --on-disk`")
    vectors = as_embedding_matrix(embeddings, "new embeddings")
    if vectors.shape[1] != metadata.dimension:
        raise DataError(
            f"new embeddings are {vectors.shape[1]}-d but index {path} holds {metadata.dimension}-d vectors",
            "embed them with the checkpoint the index was built from",
        )
    new_paths = as_path_list(paths, vectors.shape[0], "new paths")
    if (labels is None) != (metadata.labels is None):
        state = "unlabelled" if metadata.labels is None else "labelled"
        raise DataError(f"index {path} is {state} but the new embeddings are not", "add embeddings of the same kind")
    new_labels = None if labels is None else as_label_vector(labels, vectors.shape[0], "new labels").tolist()
    if root is not None and metadata.root is not None and Path(root) != Path(metadata.root):
        raise DataError(
            f"new paths are relative to {root} but the index's are relative to {metadata.root}",
            "embed the images with the same --root, or build a new index",
        )
    _check_new_paths(path, metadata.paths, new_paths)
    index.add(vectors)
    metadata.count = int(index.ntotal)
    metadata.paths = metadata.paths + new_paths
    if metadata.labels is not None and new_labels is not None:
        metadata.labels = metadata.labels + [int(v) for v in new_labels]
    metadata.index_params = {**metadata.index_params, **index_params_of(index)}
    if class_names:
        metadata.class_names = {**(metadata.class_names or {}), **class_names}
    save_index(index, metadata, path)
    return metadata

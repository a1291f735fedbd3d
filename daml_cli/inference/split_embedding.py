"""Embed one split of a prepared dataset with a trained model: the engine behind `embed` and `evaluate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daml_cli.data.manifest import ManifestRow, read_manifest
from daml_cli.data.workers import loader_workers
from daml_cli.inference.loading import LoadedModel
from daml_cli.models.embedder import embed_paths


@dataclass
class EmbeddedSplit:
    embeddings: np.ndarray
    labels: np.ndarray
    paths: list[str]
    root: Path
    query_mask: np.ndarray | None = None
    gallery_mask: np.ndarray | None = None
    class_names: dict[int, str] | None = None  # label -> the manifest's class_name


def _flag_column(rows: list[ManifestRow], name: str) -> np.ndarray | None:
    """The rows' `is_query` or `is_gallery` as a mask (unset counts as False); None when no row sets it."""
    flags = [getattr(row, name) for row in rows]
    if all(flag is None for flag in flags):
        return None
    return np.array([bool(flag) for flag in flags])


def _split_rows(loaded: LoadedModel, data_root: Path | None, split: str, dataset: str | None) -> tuple:
    root = Path(data_root) if data_root is not None else Path(loaded.config.data.root)
    manifest = read_manifest(root / (dataset or loaded.config.data.dataset))
    return manifest, manifest.split(split)


def read_split_rows(loaded: LoadedModel, data_root: Path | None, split: str = "test", dataset: str | None = None) -> list:
    """The manifest rows of `split` (dataset and root default to the run's own), in file order."""
    return _split_rows(loaded, data_root, split, dataset)[1]


def embed_split(
    loaded: LoadedModel,
    data_root: Path | None,
    split: str = "test",
    dataset: str | None = None,
    batch_size: int = 256,
    on_batch: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    rows_range: tuple[int, int] | None = None,
) -> EmbeddedSplit:
    """Embeddings, labels and manifest paths of `split`; dataset and root default to the run's own.

    ``rows_range=(start, stop)`` embeds only those rows of the split (one process's shard); labels, paths
    and masks still describe every row.
    """
    manifest, rows = _split_rows(loaded, data_root, split, dataset)
    start, stop = rows_range if rows_range is not None else (0, len(rows))
    if on_total is not None:
        on_total(stop - start)
    embeddings = embed_paths(
        loaded.model, [manifest.absolute(row) for row in rows[start:stop]], loaded.preprocessing, loaded.device,
        batch_size, loader_workers(loaded.config.data.workers), on_batch,
    )
    query = _flag_column(rows, "is_query")
    gallery = _flag_column(rows, "is_gallery")
    return EmbeddedSplit(
        embeddings=embeddings,
        labels=np.array([row.label for row in rows], dtype=np.int64),
        paths=[row.path for row in rows],
        root=manifest.root.resolve(),
        query_mask=query if query is not None and query.any() else None,
        gallery_mask=gallery if gallery is not None and gallery.any() else None,
        class_names={row.label: row.class_name for row in rows if row.class_name} or None,
    )

"""The engine behind `daml retrieve`: embed query images with the index's model and search the gallery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daml_cli.data.images import is_image_file
from daml_cli.errors import DataError, IndexFileError
from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.store import load_index, search
from daml_cli.inference.loading import load_model
from daml_cli.models.embedder import embed_paths
from daml_cli.report.results import QueryResult, query_results_from_search


def expand_queries(items: Sequence[Path]) -> list[Path]:
    """Query images from files, folders (their images, sorted) and ``.txt`` list files (one path a line)."""
    queries: list[Path] = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if is_image_file(p))
            if not found:
                raise DataError(f"query folder {item} holds no images")
            queries.extend(found)
        elif item.suffix.lower() == ".txt" and item.is_file():
            lines = [line.strip() for line in item.read_text(encoding="utf-8").splitlines()]
            queries.extend(item.parent / line for line in lines if line and not line.startswith("#"))
        elif not item.exists():
            raise DataError(f"query image {item} does not exist")
        else:
            queries.append(item)
    if not queries:
        raise DataError("no query images given")
    return queries


def similarity_scores(squared_distances: np.ndarray, normalized: bool) -> np.ndarray:
    """Scores where higher is closer: cosine similarity ``1 − d²/2`` for unit embeddings, else ``−d²``."""
    return 1.0 - squared_distances / 2.0 if normalized else -squared_distances


def gallery_path(metadata: IndexMetadata, path: str) -> str:
    return str(Path(metadata.root) / path) if metadata.root else path


@dataclass
class RetrievalRun:
    """Each query with its ranked hits, the index metadata, and the checkpoint that embedded the queries."""

    queries: list[QueryResult]
    metadata: IndexMetadata
    checkpoint: Path


def retrieve(
    queries: Sequence[Path], index_path: Path, k: int = 10, device: str = "auto", query_labels: Sequence[int] | None = None
) -> RetrievalRun:
    """Top-`k` gallery images for each query, using the model the index metadata names.

    `query_labels` (one per expanded query, when known) lets reports mark results correct or not.
    """
    paths = expand_queries(queries)
    metadata = IndexMetadata.read(Path(index_path)) if Path(index_path).is_file() else None
    if metadata is None:
        raise IndexFileError(f"index file {index_path} not found", "build one with `daml embed ... --index FILE`")
    if not metadata.checkpoint:
        raise IndexFileError(f"index {index_path} does not name the model that built it", "rebuild it with `daml embed ... --index`")
    loaded = load_model(metadata.checkpoint, device)
    index, metadata = load_index(index_path, loaded.model.embedding_dim, loaded.sha256)
    embeddings = embed_paths(loaded.model, paths, metadata.preprocessing or loaded.preprocessing, loaded.device)
    distances, ids = search(index, embeddings, k)
    scores = similarity_scores(distances, loaded.model.normalize)
    gallery = [gallery_path(metadata, p) for p in metadata.paths]
    results = query_results_from_search([str(p) for p in paths], query_labels, scores, ids, gallery, metadata.labels)
    return RetrievalRun(results, metadata, loaded.checkpoint)

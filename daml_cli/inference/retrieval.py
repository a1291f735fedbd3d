"""The engine behind `daml retrieve`: embed query images with the index's model and search the gallery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daml_cli.data.images import is_image_file
from daml_cli.errors import DataError, IndexFileError
from daml_cli.safety.files import require_regular_file
from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.store import load_index, search
from daml_cli.inference.loading import LoadedModel, load_model
from daml_cli.inference.query_classes import file_digest, query_classes, same_file
from daml_cli.models.embedder import embed_paths
from daml_cli.report.results import QueryResult, RetrievalHit, query_results_from_search


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
        elif item.suffix.lower() == ".txt":
            require_regular_file(item, "query list")
            lines = [line.strip() for line in item.read_text(encoding="utf-8").splitlines()]
            queries.extend(item.parent / line for line in lines if line and not line.startswith("#"))
        else:
            require_regular_file(item, "query image")
            queries.append(item)
    if not queries:
        raise DataError("no query images given")
    return queries


def similarity_scores(squared_distances: np.ndarray, normalized: bool) -> np.ndarray:
    """Scores where higher is closer: cosine similarity ``1 − d²/2`` for unit embeddings, else ``−d²``."""
    return 1.0 - squared_distances / 2.0 if normalized else -squared_distances


def gallery_path(metadata: IndexMetadata, path: str) -> str:
    return str(Path(metadata.root) / path) if metadata.root else path


def _model_source(index_path: Path, metadata: IndexMetadata, checkpoint: Path | None) -> Path:
    """The checkpoint to embed queries with: `checkpoint` when given, else the one the index names."""
    if checkpoint is not None:
        return Path(checkpoint)
    if not metadata.checkpoint:
        raise IndexFileError(
            f"index {index_path} does not name the model that built it",
            "pass --checkpoint RUN_OR_PT, or rebuild it with `daml embed ... --index`",
        )
    named = Path(metadata.checkpoint)
    if not named.exists():
        raise IndexFileError(
            f"the model index {index_path} was built with, {named}, is not there any more (moved or deleted?)",
            "pass --checkpoint RUN_OR_PT with its new place; its SHA-256 must match the index's",
        )
    return named


def open_gallery(
    index_path: Path | str, device: str = "auto", checkpoint: Path | str | None = None
) -> tuple[LoadedModel, Any, IndexMetadata]:
    """The model an index's metadata names (or `checkpoint`, for a moved run), and the index, checked against it."""
    require_regular_file(index_path, "index file", IndexFileError, "build one with `daml embed ... --index FILE`")
    metadata = IndexMetadata.read(Path(index_path))
    loaded = load_model(_model_source(Path(index_path), metadata, None if checkpoint is None else Path(checkpoint)), device)
    index, metadata = load_index(index_path, loaded.model.embedding_dim, loaded.sha256)
    return loaded, index, metadata


SELF_MARGIN = 4  # extra results searched so that leaving the query's own gallery copies out still leaves k


@dataclass
class RetrievalRun:
    """Each query with its ranked hits, the index metadata, and the checkpoint that embedded the queries."""

    queries: list[QueryResult]
    metadata: IndexMetadata
    checkpoint: Path


def drop_self_matches(result: QueryResult, k: int) -> QueryResult:
    """Leave out hits that are the query's own file (same path or same bytes); keep `k`, ranks renumbered.

    A query of unknown class that is a copy of a gallery image takes that image's class.
    """
    query = Path(result.query_path)
    digest = file_digest(query)
    kept: list[RetrievalHit] = []
    for hit in result.hits:
        if same_file(query, Path(hit.path), digest):
            result.excluded.append(hit.path)
            if result.query_label is None and result.query_class is None:
                result.query_label, result.query_class = hit.label, hit.class_name
        elif len(kept) < k:
            kept.append(hit._replace(rank=len(kept) + 1))
    result.hits = kept
    return result


def retrieve(
    queries: Sequence[Path], index_path: Path, k: int = 10, device: str = "auto", query_labels: Sequence[int] | None = None,
    labels_file: Path | None = None, exclude_self: bool = True, checkpoint: Path | None = None,
) -> RetrievalRun:
    """Top-`k` gallery images for each query, using the model the index metadata names (or `checkpoint`).

    A query's class (to mark results right or wrong) comes from `query_labels` (one per expanded query),
    else `labels_file`, its gallery entry or the gallery's manifest. With `exclude_self`, a query that is
    itself a gallery item is left out of its own results (recorded in `QueryResult.excluded`). The search
    runs on the GPU only when `device` allows it.
    """
    paths = expand_queries(queries)
    loaded, index, metadata = open_gallery(index_path, device, checkpoint)
    embeddings = embed_paths(loaded.model, paths, metadata.preprocessing or loaded.preprocessing, loaded.device)
    wanted = k + SELF_MARGIN if exclude_self else k  # search() caps it at the gallery size
    distances, ids = search(index, embeddings, wanted, use_gpu=False if loaded.device.type == "cpu" else None)
    scores = similarity_scores(distances, loaded.model.normalize)
    gallery = [gallery_path(metadata, p) for p in metadata.paths]
    names = metadata.names_by_label()
    known = query_classes(paths, metadata, gallery, labels_file)
    labels = list(query_labels) if query_labels is not None else [entry.label for entry in known]
    results = query_results_from_search([str(p) for p in paths], labels, scores, ids, gallery, metadata.labels, names)
    for result, entry in zip(results, known):
        if result.query_class is None and entry.class_name:
            result.query_class = entry.class_name
        if exclude_self:
            drop_self_matches(result, k)
        else:
            result.hits = result.hits[:k]
    return RetrievalRun(results, metadata, loaded.checkpoint)

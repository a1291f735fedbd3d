"""The engine behind `daml evaluate`: embeddings from a model or a file, then every metric."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from daml_cli.embeddings.file import read_embeddings
from daml_cli.errors import DataError
from daml_cli.inference.loading import load_model
from daml_cli.inference.split_embedding import embed_split
from daml_cli.metrics.evaluate import EvaluationResult, evaluate_embeddings


@dataclass
class EvaluationOutcome:
    result: EvaluationResult
    count: int
    title: str


def evaluate_source(
    run: Path | None,
    embeddings: Path | None,
    data_root: Path | None,
    dataset: str | None,
    split: str,
    ks: list[int] | None,
    metrics: list[str],
    device: str = "auto",
    seed: int = 0,
    on_batch: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> EvaluationOutcome:
    """Evaluate a run's model on a split, or a saved EMB.npz (which must carry labels)."""
    query_mask = gallery_mask = None
    if embeddings is not None:
        stored = read_embeddings(embeddings)
        if stored.labels is None:
            raise DataError(f"{embeddings} has no labels, so it cannot be evaluated", "embed a labelled split")
        matrix, labels, title = stored.embeddings, stored.labels, str(embeddings)
        extra = stored.extra
        if "is_query" in extra and "is_gallery" in extra:
            import numpy as np

            query_mask, gallery_mask = np.array(extra["is_query"], bool), np.array(extra["is_gallery"], bool)
        ks = ks or [1, 2, 4, 8]
    else:
        loaded = load_model(run, device)
        embedded = embed_split(loaded, data_root, split, dataset, on_batch=on_batch, on_total=on_total)
        matrix, labels = embedded.embeddings, embedded.labels
        query_mask, gallery_mask = embedded.query_mask, embedded.gallery_mask
        title = f"{loaded.checkpoint.name} on {dataset or loaded.config.data.dataset}/{split}"
        ks = ks or list(loaded.config.eval.k)
    result = evaluate_embeddings(
        matrix, labels, ks=ks, metrics=metrics, seed=seed, query_mask=query_mask, gallery_mask=gallery_mask, device=device
    )
    return EvaluationOutcome(result, int(matrix.shape[0]), title)

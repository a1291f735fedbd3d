"""The engine behind `daml evaluate`: embeddings from a model or a file, then every metric."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.embeddings.file import read_embeddings
from daml_cli.errors import ConfigError, DataError
from daml_cli.safety.files import require_regular_file
from daml_cli.inference.loading import load_model
from daml_cli.inference.split_embedding import embed_split
from daml_cli.metrics.eval_inputs import check_metric_names
from daml_cli.metrics.evaluate import EvaluationResult, evaluate_embeddings
from daml_cli.metrics.degenerate import check_evaluable


@dataclass
class EvaluationOutcome:
    result: EvaluationResult
    count: int
    title: str
    index_metrics: dict[str, float] = field(default_factory=dict)  # with an index: see inference/index_recall.py

    def flat_metrics(self) -> dict[str, float]:
        """Every figure as one flat mapping (what `evaluate --json` writes and `api.evaluate` returns)."""
        return {**self.result.metrics, **self.index_metrics}


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
    index: Path | None = None,
) -> EvaluationOutcome:
    """Evaluate a run's model on a split, or a saved EMB.npz (which must carry labels).

    Labels that make a requested metric meaningless (one class, no query with a positive, ...) are refused
    before any metric is computed (`daml_cli.metrics.degenerate`). With `index` (built from those same
    embeddings), also compare its neighbours with exact search.
    """
    if (run is None) == (embeddings is None):
        raise ConfigError("give either a run folder/checkpoint or --embeddings EMB.npz", "e.g. daml evaluate runs/demo --data-root data")
    check_metric_names(metrics)
    if index is not None:
        require_regular_file(index, "index file", DataError,
                             "build one with `daml embed ... --index FILE` or `daml index build`")
    query_mask = gallery_mask = None
    paths: list[str] | None = None
    checkpoint_sha256: str | None = None
    if embeddings is not None:
        stored = read_embeddings(embeddings)
        if stored.labels is None:
            raise DataError(f"{embeddings} has no labels, so it cannot be evaluated", "embed a labelled split")
        matrix, labels, title = stored.embeddings, stored.labels, str(embeddings)
        paths, checkpoint_sha256 = list(stored.paths), stored.checkpoint_sha256
        extra = stored.extra
        if "is_query" in extra and "is_gallery" in extra:
            import numpy as np

            query_mask, gallery_mask = np.array(extra["is_query"], bool), np.array(extra["is_gallery"], bool)
        ks = ks or [1, 2, 4, 8]
    else:
        loaded = load_model(run, device)
        embedded = embed_split(loaded, data_root, split, dataset, on_batch=on_batch, on_total=on_total)
        matrix, labels = embedded.embeddings, embedded.labels
        paths, checkpoint_sha256 = list(embedded.paths), loaded.sha256
        query_mask, gallery_mask = embedded.query_mask, embedded.gallery_mask
        title = f"{loaded.checkpoint.name} on {dataset or loaded.config.data.dataset}/{split}"
        ks = ks or list(loaded.config.eval.k)
    check_evaluable(labels, metrics, query_mask, gallery_mask)  # one class, no positives...: refused, naming the metric
    result = evaluate_embeddings(
        matrix, labels, ks=ks, metrics=metrics, seed=seed, query_mask=query_mask, gallery_mask=gallery_mask, device=device
    )
    outcome = EvaluationOutcome(result, int(matrix.shape[0]), title)
    if index is not None:
        from daml_cli.inference.index_recall import index_recall

        outcome.index_metrics = index_recall(Path(index), matrix, labels, paths, ks, device, checkpoint_sha256)
    return outcome

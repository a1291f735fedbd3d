"""The Python API: the command-line workflow as functions that return Python objects.

    from daml_cli import api

    api.prepare("digits", "data")
    run = api.train(preset="digits-triplet", data_root="data", out="runs/x", overrides=["train.iterations=10"])
    metrics = api.evaluate(run, data_root="data")            # {"recall@1": ..., "nmi": ..., ...}
    api.embed(run, "test.npz", data_root="data", index="g.faiss")
    hits = api.retrieve(["query.png"], index="g.faiss", k=5)  # [{"query": ..., "results": [...]}, ...]

Each function calls the same engine functions as the `daml` command of the same name, with the same
defaults, and raises `daml_cli.errors.DamlError` (one message, plus a hint) on bad input. Nothing is printed.
Importing this module is cheap: torch is imported by the first function that needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daml_cli.data.preparers.base import PrepareReport
    from daml_cli.inference.embedding_job import EmbedSummary

PathLike = str | Path
METRICS = ("recall", "nmi", "f1", "map@r", "r_precision")  # `daml evaluate --metrics` default

__all__ = ["prepare", "train", "embed", "evaluate", "retrieve"]


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)


def prepare(
    name: str,
    root: PathLike,
    *,
    source: PathLike | None = None,
    train_dir: PathLike | None = None,
    test_dir: PathLike | None = None,
    test_fraction: float = 0.5,
    seed: int = 0,
    archives: Sequence[PathLike] = (),
    skip_checksum: bool = False,
    force: bool = False,
    val_classes: float = 0.0,
    check_images: bool = False,
    resize: int | None = None,
) -> PrepareReport:
    """`daml prepare NAME ROOT`: build ROOT/NAME; the report holds `dataset_dir`, `images`, `classes`, `skipped`."""
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset

    options = PrepareOptions(
        source=_path(source), train_dir=_path(train_dir), test_dir=_path(test_dir), test_fraction=test_fraction,
        seed=seed, archives=[Path(a) for a in archives], skip_checksum=skip_checksum, force=force,
        val_classes=val_classes, check_images=check_images, resize=resize,
    )
    return prepare_dataset(name, Path(root), options)


def train(
    preset: str | None = None,
    data_root: PathLike | None = None,
    out: PathLike | None = None,
    overrides: Sequence[str] = (),
    *,
    seed: int | None = None,
    device: str | None = None,
    resume: bool = False,
    weights: PathLike | None = None,
    init: PathLike | None = None,
) -> Path:
    """`daml train`: train from a preset (name or YAML file) with `--set`-style overrides; returns the run folder."""
    from daml_cli.config.request import check_weights_file, default_run_dir, training_config
    from daml_cli.train.loop import train as run_training

    config, source = training_config(
        preset, overrides, out=_path(out), resume=resume, data_root=data_root, seed=seed, device=device, weights=weights,
        init=init,
    )
    check_weights_file(config)
    result = run_training(config, _path(out) or default_run_dir(source), resume=resume, preset=source)
    return Path(result.run_dir)


def embed(
    run: PathLike,
    out: PathLike,
    data_root: PathLike | None = None,
    split: str = "test",
    *,
    dataset: str | None = None,
    index: PathLike | None = None,
    device: str = "auto",
) -> EmbedSummary:
    """`daml embed`: write a split's EMB.npz (and a gallery index); returns what was written."""
    from daml_cli.inference.embedding_job import embed_to_file

    return embed_to_file(Path(run), Path(out), _path(data_root), split, dataset, _path(index), device)


def evaluate(
    run: PathLike | None = None,
    *,
    data_root: PathLike | None = None,
    embeddings: PathLike | None = None,
    dataset: str | None = None,
    split: str = "test",
    k: Sequence[int] | None = None,
    metrics: Sequence[str] = METRICS,
    device: str = "auto",
    seed: int = 0,
    index: PathLike | None = None,
) -> dict[str, float]:
    """`daml evaluate`: the flat mapping `evaluate --json` writes (``recall@1``, ..., ``nmi``, ``f1``, ...)."""
    from daml_cli.inference.evaluation import evaluate_source

    outcome = evaluate_source(
        run=_path(run), embeddings=_path(embeddings), data_root=_path(data_root), dataset=dataset, split=split,
        ks=list(k) if k else None, metrics=list(metrics), device=device, seed=seed, index=_path(index),
    )
    return outcome.flat_metrics()


def retrieve(
    queries: PathLike | Sequence[PathLike],
    index: PathLike,
    k: int = 10,
    *,
    device: str = "auto",
    checkpoint: PathLike | None = None,
    query_labels: PathLike | None = None,
    keep_self: bool = False,
) -> list[dict[str, Any]]:
    """`daml retrieve --json -`: one record per query, exactly what the command prints::

        [{"query", "query_label", "query_class", "excluded_self",
          "results": [{"rank", "path", "label", "class_name", "score", "correct"}, ...]}, ...]

    `query_labels` is the `--query-labels` CSV; `keep_self` keeps a query that is a gallery image in its own results.
    """
    from daml_cli.inference.retrieval import retrieve as run_retrieval
    from daml_cli.report.results import results_as_records

    items = [queries] if isinstance(queries, (str, Path)) else list(queries)
    run = run_retrieval(
        [Path(q) for q in items], Path(index), k, device, labels_file=_path(query_labels), exclude_self=not keep_self,
        checkpoint=_path(checkpoint),
    )
    return results_as_records(run.queries)

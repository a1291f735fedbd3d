"""The Python API: the command-line workflow as functions that return Python objects.

    from daml_cli import api

    api.prepare("digits", "data")
    run = api.train(preset="digits-triplet", data_root="data", out="runs/x", overrides=["train.iterations=10"])
    metrics = api.evaluate(run, data_root="data")            # {"recall@1": ..., "nmi": ..., ...}
    api.embed(run, "test.npz", data_root="data", index="g.faiss")
    hits = api.retrieve(["query.png"], index="g.faiss", k=5)  # [{"query": ..., "results": [...]}, ...]

Each function calls the same engine functions as the `daml` command of the same name, with the same
defaults, and raises `daml_cli.errors.DamlError` (one message, plus a hint) on bad input, a wrong argument type
included (the message names the argument and the type it takes; a single str where a list is taken, as for
`overrides` or `metrics`, is one item). Nothing is printed.
Importing this module is cheap: torch is imported by the first function that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daml_cli.errors import ConfigError

if TYPE_CHECKING:
    from daml_cli.data.preparers.base import PrepareReport
    from daml_cli.inference.embedding_job import EmbedSummary

PathLike = str | Path
METRICS = ("recall", "nmi", "f1", "map@r", "r_precision")  # `daml evaluate --metrics` default

__all__ = ["prepare", "train", "embed", "evaluate", "retrieve"]


# -- argument checks at the boundary: a wrong type is a DamlError naming the argument, never a bare TypeError --
def _wrong(name: str, kind: str, value: object) -> ConfigError:
    from daml_cli.safety.terminal import quote

    return ConfigError(f"{name} must be {kind}, got {type(value).__name__} {quote(value)}")


def _path(value: object, name: str, required: bool = False) -> Path | None:
    """`value` as a Path (a str or an os.PathLike); None stays None unless `required`."""
    if value is None and not required:
        return None
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes) and str(value):
        return Path(value)
    raise _wrong(name, "a path (a non-empty str or pathlib.Path)", value)


def _text(value: object, name: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, str):
        return value
    raise _wrong(name, "a str", value)


def _int(value: object, name: str, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _wrong(name, "an int", value)


def _number(value: object, name: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _wrong(name, "a number", value)


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _wrong(name, "True or False", value)


def _many(value: object, name: str, kind: str) -> list[Any]:
    """`value` as a list: a single str (or path) is one item, any other iterable its items."""
    if isinstance(value, (str, os.PathLike)):
        return [value]
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        raise _wrong(name, f"a {kind} or a list of them", value)
    return list(value)


def _strings(value: object, name: str, kind: str) -> list[str]:
    items = _many(value, name, kind)
    for item in items:
        if not isinstance(item, str):
            raise _wrong(f"each item of {name}", f"a str ({kind})", item)
    return items


def _ints(value: object, name: str) -> list[int] | None:
    """None, an int (one value) or a sequence of ints; a str is refused (``k="1,2"`` is not ``k=[1, 2]``)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _wrong(name, "an int or a list of ints (e.g. k=[1, 2, 4])", value)
    return [_int(item, f"each item of {name}") for item in value]  # type: ignore[misc]


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
        source=_path(source, "source"), train_dir=_path(train_dir, "train_dir"), test_dir=_path(test_dir, "test_dir"),
        test_fraction=_number(test_fraction, "test_fraction"), seed=_int(seed, "seed"),
        archives=[_path(a, "each item of archives", True) for a in _many(archives, "archives", "path")],
        skip_checksum=_flag(skip_checksum, "skip_checksum"), force=_flag(force, "force"),
        val_classes=_number(val_classes, "val_classes"), check_images=_flag(check_images, "check_images"),
        resize=_int(resize, "resize", required=False),
    )
    return prepare_dataset(_text(name, "name"), _path(root, "root", True), options)


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

    if preset is not None and not (isinstance(preset, (str, os.PathLike)) and str(preset)):
        raise _wrong("preset", "a preset name or a YAML file (a str or pathlib.Path)", preset)
    out_path, resume = _path(out, "out"), _flag(resume, "resume")
    config, source = training_config(
        None if preset is None else str(preset), _strings(overrides, "overrides", "key=value override"),
        out=out_path, resume=resume, data_root=_path(data_root, "data_root"), seed=_int(seed, "seed", required=False),
        device=_text(device, "device", required=False), weights=_path(weights, "weights"), init=_path(init, "init"),
    )
    check_weights_file(config)
    result = run_training(config, out_path or default_run_dir(source), resume=resume, preset=source)
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

    return embed_to_file(
        _path(run, "run", True), _path(out, "out", True), _path(data_root, "data_root"), _text(split, "split"),
        _text(dataset, "dataset", required=False), _path(index, "index"), _text(device, "device"),
    )


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
        run=_path(run, "run"), embeddings=_path(embeddings, "embeddings"), data_root=_path(data_root, "data_root"),
        dataset=_text(dataset, "dataset", required=False), split=_text(split, "split"), ks=_ints(k, "k") or None,
        metrics=_strings(metrics, "metrics", "metric name"), device=_text(device, "device"), seed=_int(seed, "seed"),
        index=_path(index, "index"),
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

    items = [_path(q, "each item of queries", True) for q in _many(queries, "queries", "path")]
    run = run_retrieval(
        items, _path(index, "index", True), _int(k, "k"), _text(device, "device"),
        labels_file=_path(query_labels, "query_labels"), exclude_self=not _flag(keep_self, "keep_self"),
        checkpoint=_path(checkpoint, "checkpoint"),
    )
    return results_as_records(run.queries)

"""`daml demo`: the whole workflow on the bundled digits, as a new user would run it by hand.

prepare digits -> train digits-triplet -> embed the test digits into a gallery index -> evaluate -> retrieve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.config.loading import load_config
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.inference.embedding_job import embed_to_file
from daml_cli.inference.evaluation import evaluate_source
from daml_cli.inference.retrieval import RetrievalRun, retrieve
from daml_cli.metrics.eval_inputs import METRICS
from daml_cli.train.loop import train
from daml_cli.train.reporting import TrainReporter

PRESET = "digits-triplet"


@dataclass
class DemoResult:
    run_dir: Path
    metrics: dict[str, float]
    retrieval: RetrievalRun
    html: Path
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(workdir: Path, device: str = "auto", reporter: TrainReporter | None = None) -> DemoResult:
    """Run every step under `workdir` (data/, runs/, gallery files); returns metrics and retrieval results."""
    workdir = Path(workdir)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    data_root = workdir / "data"
    prepare_dataset("digits", data_root, PrepareOptions())
    seconds["prepare"] = time.perf_counter() - started

    config = load_config(PRESET, extra={"data.root": str(data_root), "device": device})
    run_dir = workdir / "runs" / f"{PRESET}-{time.strftime('%Y%m%d-%H%M%S')}"
    mark = time.perf_counter()
    train(config, run_dir, preset=PRESET, reporter=reporter)
    seconds["train"] = time.perf_counter() - mark

    mark = time.perf_counter()
    gallery = run_dir / "gallery.faiss"
    summary = embed_to_file(run_dir, run_dir / "test-embeddings.npz", data_root, "test", index=gallery, device=device)
    outcome = evaluate_source(None, summary.out, None, None, "test", list(config.eval.k), list(METRICS), device)
    seconds["embed+evaluate"] = time.perf_counter() - mark

    mark = time.perf_counter()
    from daml_cli.data.manifest import read_manifest

    test_rows = read_manifest(data_root / "digits").split("test")
    picks = [test_rows[0], test_rows[len(test_rows) // 2]]
    queries = [data_root / "digits" / row.path for row in picks]
    retrieval = retrieve(queries, gallery, k=5, device=device, query_labels=[row.label for row in picks])
    html = run_dir / "retrieval.html"
    from daml_cli.report.html import write_retrieval_html

    write_retrieval_html(html, retrieval.queries)
    seconds["retrieve"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return DemoResult(run_dir, outcome.result.metrics, retrieval, html, seconds)

"""`daml_cli.api`: the workflow as Python functions, with the CLI's defaults and the CLI's JSON shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daml_cli import api
from daml_cli.errors import ConfigError, DataError
from tests.cli.conftest import cli  # noqa: F401  (the in-process CLI fixture, to compare with)
from tests.conftest import TINY

REPO = Path(__file__).resolve().parents[1]


def test_importing_the_api_does_not_import_torch() -> None:
    probe = "import sys, daml_cli.api; print('torch' in sys.modules, 'numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_prepare_train_evaluate_embed_retrieve(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = api.prepare("digits", "data")
    assert report.dataset_dir == Path("data") / "digits" and report.images["test"] == 896
    assert api.prepare("digits", "data").skipped

    run = api.train(preset="digits-triplet", data_root="data", out="runs/x", overrides=[*TINY, "train.iterations=10"],
                    device="cpu")
    assert run == Path("runs/x") and (run / "checkpoints" / "best.pt").is_file()
    assert "iterations: 10" in (run / "config.yaml").read_text()

    metrics = api.evaluate(run, data_root="data", device="cpu")
    code, _, err = cli("evaluate", run, "--data-root", "data", "--device", "cpu", "--json", "m.json")
    assert code == 0, err
    assert metrics == json.loads(Path("m.json").read_text())  # same keys, same numbers as `evaluate --json`
    assert list(metrics)[:2] == ["recall@1", "recall@2"] and "map@r" in metrics

    summary = api.embed(run, "test.npz", data_root="data", index="g.faiss", device="cpu")
    assert summary.count == 896 and summary.index == Path("g.faiss")
    assert api.evaluate(embeddings="test.npz", metrics=["recall"], k=[1]) == {"recall@1": metrics["recall@1"]}

    queries = ["data/digits/" + json.loads(Path("g.faiss.json").read_text())["paths"][i] for i in (0, 500)]
    hits = api.retrieve(queries, index="g.faiss", k=5, device="cpu")
    code, out, err = cli("retrieve", *queries, "--index", "g.faiss", "-k", "5", "--device", "cpu", "--json", "-")
    assert code == 0, err
    assert hits == json.loads(out)  # the structure `retrieve --json -` prints
    assert set(hits[0]) == {"query", "query_label", "query_class", "excluded_self", "results"}
    assert set(hits[0]["results"][0]) == {"rank", "path", "label", "class_name", "score", "correct"}
    assert hits[0]["excluded_self"] and all(h["correct"] is not None for h in hits[0]["results"])  # a gallery image
    kept = api.retrieve(queries[0], index="g.faiss", k=5, device="cpu", keep_self=True)
    assert not kept[0]["excluded_self"]
    assert any(Path(h["path"]).resolve() == Path(queries[0]).resolve() for h in kept[0]["results"])
    assert [h["rank"] for h in hits[0]["results"]] == [1, 2, 3, 4, 5]
    assert api.retrieve(queries[0], index="g.faiss", k=1, device="cpu")[0]["query"] == queries[0]


def test_api_errors_are_daml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no preset given"):
        api.train(data_root=tmp_path)
    with pytest.raises(ConfigError, match="give either a run"):
        api.evaluate()
    with pytest.raises(DataError, match="unknown metric"):
        api.evaluate(embeddings=tmp_path / "e.npz", metrics=["foo"])

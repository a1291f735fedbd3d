"""The whole CLI on real digits: train, embed with an index, evaluate, retrieve a gallery image at rank 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import TINY


def test_train_embed_evaluate_retrieve(cli, digits_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    overrides = [arg for item in TINY for arg in ("--set", item)]
    code, out, err = cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", run, "--device", "cpu", *overrides)
    assert code == 0, err
    assert (run / "checkpoints" / "best.pt").is_file() and (run / "config.yaml").is_file()

    emb, index = tmp_path / "test.npz", tmp_path / "gallery.faiss"
    code, out, err = cli("embed", run, "--data-root", digits_root, "--split", "test", "--out", emb, "--index", index)
    assert code == 0, err
    with np.load(emb, allow_pickle=False) as stored:
        assert stored["embeddings"].dtype == np.float32 and stored["embeddings"].shape == (896, 16)
        assert stored["labels"].shape == (896,) and set(stored["labels"].tolist()) == {5, 6, 7, 8, 9}
        assert stored["paths"].shape == (896,)
    meta = json.loads((tmp_path / "gallery.faiss.json").read_text())
    assert meta["dimension"] == 16 and meta["count"] == 896 and len(meta["checkpoint_sha256"]) == 64
    assert meta["preprocessing"]["crop"] == 16

    metrics_file = tmp_path / "metrics.json"
    code, out, err = cli("evaluate", run, "--data-root", digits_root, "--json", metrics_file)
    assert code == 0, err
    metrics = json.loads(metrics_file.read_text())
    assert list(metrics) == ["recall@1", "recall@2", "recall@4", "recall@8", "nmi", "f1", "map@r", "r_precision"]
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["recall@1"] <= metrics["recall@8"]
    assert "recall@1" in out

    code, out, err = cli("evaluate", "--embeddings", emb, "--json", tmp_path / "m2.json")
    assert code == 0, err
    assert json.loads((tmp_path / "m2.json").read_text()) == metrics  # same embeddings, same numbers
    assert f"wrote {tmp_path / 'm2.json'}" in err

    # one vocabulary: --recall-at and `--json -`; the old --k still works (hidden)
    code, out, err = cli("evaluate", "--embeddings", emb, "--recall-at", "1,4", "--json", "-")
    assert code == 0, err
    assert list(json.loads(out))[:2] == ["recall@1", "recall@4"] and json.loads(out)["recall@1"] == metrics["recall@1"]
    code, out, err = cli("evaluate", "--embeddings", emb, "--k", "1,4", "--json", "-")
    assert code == 0, err
    assert list(json.loads(out))[:2] == ["recall@1", "recall@4"]

    query = digits_root / "digits" / meta["paths"][123]
    code, out, err = cli("retrieve", query, "--index", index, "--top-k", "5", "--keep-self", "--json", "-")
    assert code == 0, err
    results = json.loads(out)
    assert len(results) == 1 and results[0]["query"] == str(query)
    hits = results[0]["results"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert hits[0]["path"] == str(query) and hits[0]["label"] == meta["labels"][123]
    assert hits[0]["score"] >= hits[-1]["score"]

    page = tmp_path / "page.html"
    code, _, err = cli("retrieve", query, "--index", index, "-k", "3", "--html", page)
    assert code == 0, err
    assert page.read_text().count("<img") >= 4


def test_help_imports_neither_torch_nor_faiss() -> None:
    # A fresh interpreter: the import of every command module plus rendering the help must not pull in torch
    # or FAISS (lazy imports in cli/). How long it takes is measured by bench/cli_startup_bench.py, not here.
    probe = (
        "import sys\n"
        "from daml_cli.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', 'torch' in sys.modules, 'faiss' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "train" in done.stdout and "retrieve" in done.stdout and "index" in done.stdout
    torch_loaded, faiss_loaded = done.stdout.split("LOADED")[1].split()
    assert (torch_loaded, faiss_loaded) == ("False", "False")


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "daml_cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("daml ")

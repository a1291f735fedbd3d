"""Small fixes at the CLI: resume step counts, capped batches, early metric checks, retrieve's device and
moved models, `evaluate --index`, and DataLoader workers that fit the machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from daml_cli.config.loading import available_presets, load_config
from daml_cli.data.workers import auto_workers, loader_workers
from tests.cli.conftest import one_line_error
from tests.conftest import TINY

SET_TINY = [arg for item in TINY for arg in ("--set", item)]


def _train(cli, digits_root: Path, run: Path, *extra: str) -> tuple[int, str, str]:
    return cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", run, "--device", "cpu",
               *SET_TINY, *extra)


def test_resume_reports_only_the_new_steps(cli, digits_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = _train(cli, digits_root, run, "--set", "train.iterations=4")
    assert code == 0, err
    assert "trained 4 steps in" in err
    assert "warning:" not in err  # digits-triplet asks for its 3 training classes: nothing capped
    code, _, err = cli("train", "--out", run, "--resume", "--set", "train.iterations=6", "--device", "cpu")
    assert code == 0, err
    assert "trained 2 steps (steps 4 -> 6)" in err and "trained 6 steps" not in err


def test_fewer_classes_than_classes_per_batch_warns_once_naming_both(cli, digits_root: Path, tmp_path: Path) -> None:
    # digits-triplet trains on digits 0-4 with 2 of them held out for validation: 3 training classes.
    code, _, err = _train(cli, digits_root, tmp_path / "run", "--set", "sampler.classes_per_batch=10")
    assert code == 0, err
    assert err.count("warning:") == 1
    assert "sampler.classes_per_batch is 10 but the training split has only 3 classes" in " ".join(err.split())


def test_unknown_metric_is_refused_before_any_embedding(cli, tiny_run: Path, digits_root: Path, monkeypatch) -> None:
    import daml_cli.inference.evaluation as evaluation

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the metric names were checked")

    monkeypatch.setattr(evaluation, "load_model", no_model)
    code, _, err = cli("evaluate", tiny_run, "--data-root", digits_root, "--metrics", "recall,foo")
    assert "unknown metric(s) ['foo']" in one_line_error(code, err)


@pytest.fixture
def gallery(cli, tiny_run: Path, digits_root: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(a copy of the tiny run, EMB.npz of its test split, a flat index built from it)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    emb, index = tmp_path / "test.npz", tmp_path / "gallery.faiss"
    code, _, err = cli("embed", run, "--data-root", digits_root, "--out", emb, "--index", index, "--device", "cpu")
    assert code == 0, err
    return run, emb, index


def test_retrieve_device_reaches_the_index_search(cli, gallery, digits_root: Path, monkeypatch) -> None:
    import daml_cli.inference.retrieval as retrieval

    seen = []
    real_search = retrieval.search

    def spy(index, queries, k, use_gpu=None):
        seen.append(use_gpu)
        return real_search(index, queries, k, use_gpu=use_gpu)

    monkeypatch.setattr(retrieval, "search", spy)
    _, _, index = gallery
    query = digits_root / "digits" / json.loads(index.with_name("gallery.faiss.json").read_text())["paths"][0]
    code, _, err = cli("retrieve", query, "--index", index, "--device", "cpu", "--json", "-")
    assert code == 0, err
    assert seen == [False]  # --device cpu keeps FAISS off the GPU


def test_moved_run_folder_names_the_option_that_fixes_it(cli, gallery, digits_root: Path, tmp_path: Path) -> None:
    run, _, index = gallery
    query = digits_root / "digits" / json.loads(index.with_name("gallery.faiss.json").read_text())["paths"][5]
    code, before, err = cli("retrieve", query, "--index", index, "--json", "-")
    assert code == 0, err
    moved = run.rename(tmp_path / "moved-run")
    code, _, err = cli("retrieve", query, "--index", index, "--json", "-")
    message = one_line_error(code, err)
    assert "is not there any more" in message and "--checkpoint" in message
    code, after, err = cli("retrieve", query, "--index", index, "--json", "-", "--checkpoint", moved)
    assert code == 0, err
    assert json.loads(after) == json.loads(before)
    code, _, help_text = cli("retrieve", "--help")
    assert "--checkpoint" in help_text or "--checkpoint" in _


def test_retrieve_checkpoint_must_be_the_indexed_model(cli, gallery, digits_root: Path, tmp_path: Path) -> None:
    run, _, index = gallery
    other = tmp_path / "other"
    code, _, err = _train(cli, digits_root, other, "--seed", "5")
    assert code == 0, err
    query = digits_root / "digits" / json.loads(index.with_name("gallery.faiss.json").read_text())["paths"][0]
    code, _, err = cli("retrieve", query, "--index", index, "--checkpoint", other)
    assert "was built from checkpoint" in one_line_error(code, err)


def test_evaluate_index_compares_an_approximate_index_with_exact_search(cli, gallery, tmp_path: Path) -> None:
    _, emb, flat = gallery
    code, _, err = cli("evaluate", "--embeddings", emb, "--index", flat, "--metrics", "recall", "--json", tmp_path / "f.json")
    assert code == 0, err
    exact = json.loads((tmp_path / "f.json").read_text())
    assert [exact[f"ann_recall@{k}"] for k in (1, 2, 4, 8)] == [1.0, 1.0, 1.0, 1.0]  # a flat index is exact
    for k in (1, 2, 4, 8):  # the same neighbours up to ties broken another way (the tiny model has many)
        assert exact[f"index_recall@{k}"] == pytest.approx(exact[f"recall@{k}"], abs=0.01)

    ivfpq = tmp_path / "small.faiss"
    code, _, err = cli("index", "build", emb, "--out", ivfpq, "--type", "ivfpq", "-p", "nlist=16", "-p", "m=2",
                       "-p", "nbits=4", "-p", "nprobe=1")
    assert code == 0, err
    code, out, err = cli("evaluate", "--embeddings", emb, "--index", ivfpq, "--metrics", "recall", "--json", tmp_path / "a.json")
    assert code == 0, err
    approx = json.loads((tmp_path / "a.json").read_text())
    assert 0.0 < approx["ann_recall@1"] < 1.0  # 2 sub-quantisers of 4 bits lose neighbours
    assert approx["recall@1"] == exact["recall@1"]  # the exact figures do not depend on the index
    assert "ann_recall@1" in out and "index_recall@1" in out


def test_evaluate_index_of_other_vectors_is_refused(cli, gallery, digits_root: Path, tmp_path: Path) -> None:
    run, _, index = gallery
    val = tmp_path / "train.npz"
    code, _, err = cli("embed", run, "--data-root", digits_root, "--split", "train", "--out", val)
    assert code == 0, err
    code, _, err = cli("evaluate", "--embeddings", val, "--index", index)
    assert "vectors but the embeddings hold" in one_line_error(code, err)
    code, _, err = cli("evaluate", "--embeddings", val, "--index", tmp_path / "none.faiss")
    assert "index file" in one_line_error(code, err)


def test_workers_default_to_what_the_machine_has() -> None:
    assert [auto_workers(n) for n in (1, 2, 4, 9, 64)] == [0, 1, 3, 8, 8]
    assert loader_workers(3) == 3 and loader_workers("auto") == auto_workers()
    for name in available_presets():  # no preset asks for more loader processes than the machine has
        assert load_config(name).data.workers in ("auto", 0), name

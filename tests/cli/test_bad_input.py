"""Every bad input of the issue: one clear `error:` line, a non-zero exit, no traceback, nothing half-written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import one_line_error
from tests.conftest import TINY

SETS = [arg for item in TINY for arg in ("--set", item)]


def test_unknown_preset(cli, tmp_path: Path) -> None:
    message = one_line_error(*cli("train", "--preset", "no-such-preset", "--out", tmp_path / "r")[0::2])
    assert "unknown preset 'no-such-preset'" in message and "digits-triplet" in message
    assert not (tmp_path / "r").exists()


def test_malformed_yaml(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {backbone: small_cnn\n", encoding="utf-8")
    message = one_line_error(*cli("train", "--preset", bad, "--out", tmp_path / "r")[0::2])
    assert "not valid YAML" in message


@pytest.mark.parametrize(("override", "fragment"), [("train.iteratons=3", "train.iteratons"), ("train.iterations=abc", "train.iterations")])
def test_unknown_or_mistyped_override(cli, tmp_path: Path, override: str, fragment: str) -> None:
    message = one_line_error(*cli("train", "--preset", "digits-triplet", "--set", override, "--out", tmp_path / "r")[0::2])
    assert fragment in message


def test_missing_data_root(cli, tmp_path: Path) -> None:
    code, _, err = cli("train", "--preset", "digits-triplet", "--data-root", tmp_path / "nowhere", "--out", tmp_path / "r", *SETS)
    assert "daml prepare" in one_line_error(code, err)
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_missing_manifest(cli, tmp_path: Path) -> None:
    (tmp_path / "data" / "digits").mkdir(parents=True)
    code, _, err = cli("train", "--preset", "digits-triplet", "--data-root", tmp_path / "data", "--out", tmp_path / "r", *SETS)
    assert "no manifest.csv" in one_line_error(code, err)


def test_existing_run_not_overwritten_without_resume(cli, tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    before = {p.name: p.read_bytes() for p in (copy / "checkpoints").iterdir()}
    code, _, err = cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", copy, *SETS)
    assert "--resume" in one_line_error(code, err)
    assert {p.name: p.read_bytes() for p in (copy / "checkpoints").iterdir()} == before


@pytest.mark.parametrize("kind", ["missing", "corrupt", "foreign"])
def test_bad_checkpoint(cli, digits_root: Path, tmp_path: Path, kind: str) -> None:
    checkpoint = tmp_path / "model.pt"
    if kind == "corrupt":
        checkpoint.write_bytes(b"\x80\x02garbage")
    elif kind == "foreign":
        import torch

        torch.save({"state_dict": {}}, checkpoint)
    out = tmp_path / "e.npz"
    message = one_line_error(*cli("embed", checkpoint, "--data-root", digits_root, "--out", out)[0::2])
    assert str(checkpoint) in message
    assert not out.exists()
    assert one_line_error(*cli("evaluate", checkpoint, "--data-root", digits_root)[0::2])


def test_embeddings_of_the_wrong_shape(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, embeddings=np.zeros(5, np.float32), labels=np.arange(5), paths=np.array(list("abcde")))
    assert "embeddings" in one_line_error(*cli("evaluate", "--embeddings", bad)[0::2])
    mismatched = tmp_path / "mismatch.npz"
    np.savez(mismatched, embeddings=np.zeros((5, 3), np.float32), labels=np.arange(4), paths=np.array(list("abcde")))
    assert "labels" in one_line_error(*cli("evaluate", "--embeddings", mismatched)[0::2])
    not_npz = tmp_path / "text.npz"
    not_npz.write_text("hello")
    assert one_line_error(*cli("evaluate", "--embeddings", not_npz)[0::2])


@pytest.fixture(scope="module")
def gallery(tiny_run: Path, digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from daml_cli.inference.embedding_job import embed_to_file

    folder = tmp_path_factory.mktemp("gallery")
    embed_to_file(tiny_run, folder / "g.npz", digits_root, index=folder / "g.faiss", device="cpu")
    return folder / "g.faiss"


def test_missing_or_non_image_query(cli, gallery: Path, tmp_path: Path) -> None:
    message = one_line_error(*cli("retrieve", tmp_path / "nope.png", "--index", gallery)[0::2])
    assert "nope.png" in message and "does not exist" in message
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    assert "notes.jpg" in one_line_error(*cli("retrieve", text, "--index", gallery)[0::2])


def test_missing_or_corrupt_index(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    query = next((digits_root / "digits" / "images").rglob("*.png"))
    assert "does not exist" in one_line_error(*cli("retrieve", query, "--index", tmp_path / "none.faiss")[0::2])
    broken = tmp_path / "broken.faiss"
    shutil.copy(gallery, broken)
    shutil.copy(str(gallery) + ".json", str(broken) + ".json")
    broken.write_bytes(broken.read_bytes()[:100])
    assert one_line_error(*cli("retrieve", query, "--index", broken)[0::2])
    no_sidecar = tmp_path / "alone.faiss"
    shutil.copy(gallery, no_sidecar)
    assert one_line_error(*cli("retrieve", query, "--index", no_sidecar)[0::2])


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daml_cli", "train", "--preset", "nope", "--out", str(tmp_path / "r")], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown preset") and "Traceback" not in done.stderr

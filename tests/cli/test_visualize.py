"""`daml visualize` through the real entry point: the t-SNE PNG, coloured by class, and refused inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from daml_cli.embeddings.file import write_embeddings
from daml_cli.inference.embedding_job import embed_to_file
from daml_cli.report.scatter import PALETTE, UNLABELLED
from tests.cli.conftest import one_line_error

FAST = ["--size", "300", "--iterations", "250"]
WHITE = (255, 255, 255)


def _clusters(path: Path, count: int, classes: int | None) -> Path:
    rng = np.random.default_rng(0)
    labels = np.arange(count) % (classes or 1)
    vectors = rng.standard_normal((classes or 1, 16))[labels] * 8 + rng.standard_normal((count, 16))
    write_embeddings(path, vectors.astype(np.float32), labels if classes else None, [f"{i}.png" for i in range(count)])
    return path


def _colours(png: Path) -> set[tuple[int, int, int]]:
    return {colour for _, colour in Image.open(png).convert("RGB").getcolors(maxcolors=1_000_000)}


def test_labelled_map_is_coloured_by_class_and_capped(cli, tmp_path) -> None:
    emb = _clusters(tmp_path / "emb.npz", 120, classes=3)
    out = tmp_path / "maps" / "tsne.png"
    code, stdout, err = cli("visualize", emb, "--out", out, "--max-points", "90", *FAST)
    assert code == 0, err
    assert "t-SNE of 90 of 120 embeddings (3 classes)" in stdout
    assert out.stat().st_size > 0
    assert Image.open(out).format == "PNG"
    assert set(PALETTE[:3]) <= _colours(out) and not (set(PALETTE[3:]) - {(127, 127, 127)}) & _colours(out)  # grey: also text


def test_unlabelled_map_uses_one_colour(cli, tmp_path) -> None:
    emb = _clusters(tmp_path / "emb.npz", 40, classes=None)
    code, stdout, err = cli("visualize", emb, "--out", tmp_path / "t.png", *FAST)
    assert code == 0, err
    assert "(unlabelled, one colour)" in stdout
    colours = _colours(tmp_path / "t.png")
    assert WHITE in colours and UNLABELLED in colours and not (set(PALETTE) - {UNLABELLED, (127, 127, 127)}) & colours


def test_map_of_a_trained_models_embeddings(cli, tiny_run, digits_root, tmp_path) -> None:
    emb = tmp_path / "test.npz"
    summary = embed_to_file(tiny_run, emb, digits_root, split="test", device="cpu")
    code, stdout, err = cli("visualize", emb, "--out", tmp_path / "digits.png", "--max-points", "150", "--seed", "3", *FAST)
    assert code == 0, err
    assert f"t-SNE of 150 of {summary.count} embeddings (5 classes)" in stdout
    assert set(PALETTE[:5]) <= _colours(tmp_path / "digits.png")
    from daml_cli.embeddings.file import read_embeddings
    from daml_cli.report.embedding_map import map_caption

    caption = map_caption(read_embeddings(emb), 150, 5)
    assert caption.startswith(f"t-SNE of 150 (a seeded sample of {summary.count}) test embeddings (5 classes) "
                              f"from {tiny_run.name}/best.pt (step 6).")


def test_missing_corrupt_and_bad_options_are_refused(cli, tmp_path) -> None:
    out = tmp_path / "t.png"
    code, _, err = cli("visualize", tmp_path / "none.npz", "--out", out)
    assert "does not exist" in one_line_error(code, err)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"\x00garbage, not a zip")
    code, _, err = cli("visualize", corrupt, "--out", out)
    assert "not a readable .npz file" in one_line_error(code, err)
    emb = _clusters(tmp_path / "emb.npz", 20, classes=2)
    for option, value, message in (("--max-points", "2", "--max-points must be at least 4"),
                                   ("--size", "10", "--size must be between"),
                                   ("--iterations", "10", "--iterations must be at least 250")):
        code, _, err = cli("visualize", emb, "--out", out, option, value)
        assert message in one_line_error(code, err)
    tiny = _clusters(tmp_path / "tiny.npz", 3, classes=2)
    code, _, err = cli("visualize", tiny, "--out", out)
    assert "at least 4 embeddings" in one_line_error(code, err)
    assert not out.exists()

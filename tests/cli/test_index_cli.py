"""`daml index build|add|info` through the real entry point: outputs, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import run_cli as _run
from daml_cli.embeddings.file import write_embeddings
from daml_cli.index.metadata import sidecar_path
from daml_cli.index.store import load_index, search




def _emb(path: Path, count: int, dimension: int = 8, seed: int = 0, offset: int = 0, **meta) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    labels = np.arange(count) % 5
    paths = [f"img/{offset + i}.jpg" for i in range(count)]
    write_embeddings(path, vectors, labels, paths, **meta)
    return path, vectors


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_build_flat_then_add_then_info(tmp_path: Path, capsys) -> None:
    sha = "3c" * 32
    emb, vectors = _emb(tmp_path / "emb.npz", 50, checkpoint="runs/a/best.pt", checkpoint_sha256=sha,
                        root="/data/cub", preprocessing={"resize": 64})
    out = tmp_path / "gallery.faiss"
    code, stdout, err = _run(["index", "build", str(emb), "--out", str(out)], capsys)
    assert code == 0, err
    assert "flat, 50 vectors of dimension 8" in stdout and out.is_file() and sidecar_path(out).is_file()
    index, metadata = load_index(out, expected_dimension=8, expected_checkpoint_sha256=sha)
    assert metadata.root == "/data/cub" and metadata.preprocessing == {"resize": 64}
    assert metadata.checkpoint == "runs/a/best.pt" and metadata.labels[:6] == [0, 1, 2, 3, 4, 0]

    more, new_vectors = _emb(tmp_path / "more.npz", 7, seed=1, offset=50, checkpoint_sha256=sha, root="/data/cub")
    code, stdout, err = _run(["index", "add", str(out), str(more)], capsys)
    assert code == 0, err
    assert "added 7 vectors" in stdout and "57 vectors" in stdout
    index, metadata = load_index(out)
    assert metadata.paths[-1] == "img/56.jpg"
    assert search(index, new_vectors, 1)[1][:, 0].tolist() == list(range(50, 57))

    code, stdout, err = _run(["index", "info", str(out)], capsys)
    assert code == 0 and "57 vectors" in stdout and "5 classes" in stdout and sha in stdout


def test_build_ivfpq_and_hnsw_with_params(tmp_path: Path, capsys) -> None:
    emb, _ = _emb(tmp_path / "emb.npz", 700, dimension=16)
    code, stdout, err = _run(["index", "build", str(emb), "--out", str(tmp_path / "pq.faiss"), "--type", "ivfpq",
                              "--param", "nlist=8", "-p", "nprobe=3", "--root", "elsewhere"], capsys)
    assert code == 0, err
    assert "ivfpq [nlist=8, m=4, nbits=4, nprobe=3]" in stdout
    assert load_index(tmp_path / "pq.faiss")[1].root == "elsewhere"
    code, stdout, err = _run(["index", "build", str(emb), "-o", str(tmp_path / "h.faiss"), "-t", "hnsw",
                              "-p", "M=8", "--image-root", "there"], capsys)  # -p and --root: old spellings
    assert code == 0 and "hnsw [M=8, efConstruction=80, efSearch=64]" in stdout, err
    assert load_index(tmp_path / "h.faiss")[1].root == "there"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "lsh"], "unknown index type 'lsh'"),
        (["--param", "nlist"], "--param expects NAME=VALUE"),
        (["--type", "ivfpq"], "needs at least 624 vectors"),
        (["--param", "nlist=4"], "unknown flat parameter"),
    ],
)
def test_build_option_errors(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    emb, _ = _emb(tmp_path / "emb.npz", 20)
    code, _, err = _run(["index", "build", str(emb), "--out", str(tmp_path / "g.faiss"), *args], capsys)
    assert code == 2 and message in _one_error_line(err)
    assert not (tmp_path / "g.faiss").exists()


def test_build_bad_embeddings_file(tmp_path: Path, capsys) -> None:
    code, _, err = _run(["index", "build", str(tmp_path / "none.npz"), "--out", str(tmp_path / "g.faiss")], capsys)
    assert code == 2 and "does not exist" in _one_error_line(err)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    code, _, err = _run(["index", "build", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "g.faiss")], capsys)
    assert code == 2 and "not a readable .npz" in _one_error_line(err)
    with (tmp_path / "f64.npz").open("wb") as handle:
        np.savez(handle, embeddings=np.zeros((2, 3)), paths=np.array(["a", "b"]))
    code, _, err = _run(["index", "build", str(tmp_path / "f64.npz"), "--out", str(tmp_path / "g.faiss")], capsys)
    assert code == 2 and "must be float32" in _one_error_line(err)


def test_add_errors(tmp_path: Path, capsys) -> None:
    emb, _ = _emb(tmp_path / "emb.npz", 20, checkpoint_sha256="aa" * 32)
    out = tmp_path / "g.faiss"
    assert _run(["index", "build", str(emb), "--out", str(out)], capsys)[0] == 0
    before = out.read_bytes()
    wide, _ = _emb(tmp_path / "wide.npz", 3, dimension=4)
    code, _, err = _run(["index", "add", str(out), str(wide)], capsys)
    assert code == 2 and "new embeddings are 4-d but index" in _one_error_line(err)
    other, _ = _emb(tmp_path / "other.npz", 3, checkpoint_sha256="bb" * 32)
    code, _, err = _run(["index", "add", str(out), str(other)], capsys)
    assert code == 2 and "rebuild the index" in _one_error_line(err)
    code, _, err = _run(["index", "add", str(tmp_path / "missing.faiss"), str(emb)], capsys)
    assert code == 2 and "does not exist" in _one_error_line(err)
    sidecar_path(out).unlink()
    code, _, err = _run(["index", "info", str(out)], capsys)
    assert code == 2 and "is missing" in _one_error_line(err)
    assert out.read_bytes() == before


def test_help_imports_no_faiss_or_torch() -> None:
    code = (
        "import sys\n"
        "from daml_cli.cli.main import main\n"
        "try:\n    main(['index', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'faiss' in sys.modules, 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "build" in result.stdout and "add" in result.stdout
    assert "LOADED False False" in result.stdout

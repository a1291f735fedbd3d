"""`daml embed` under torchrun: each process embeds its shard, rank 0 writes what one process would write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daml_cli.embeddings.file import read_embeddings
from daml_cli.index.store import load_index
from daml_cli.inference.sharded_embedding import shard_bounds


@pytest.mark.parametrize("count,world", [(0, 2), (1, 2), (7, 2), (8, 3), (10, 4), (5, 1), (3, 5)])
def test_shards_cover_every_row_once_in_order(count: int, world: int) -> None:
    bounds = shard_bounds(count, world)
    assert len(bounds) == world
    rows = [r for start, stop in bounds for r in range(start, stop)]
    assert rows == list(range(count))  # contiguous, in rank order, nothing twice
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


def _embed(command_prefix: list[str], run: Path, root: Path, out: Path, index: Path) -> subprocess.CompletedProcess:
    command = [*command_prefix, "-m", "daml_cli", "embed", str(run), "--data-root", str(root), "--out", str(out),
               "--index", str(index), "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done


def test_torchrun_embed_equals_a_single_process(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    single = _embed([sys.executable], tiny_run, digits_root, tmp_path / "one.npz", tmp_path / "one.faiss")
    two = _embed([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"],
                 tiny_run, digits_root, tmp_path / "two.npz", tmp_path / "two.faiss")
    a, b = read_embeddings(tmp_path / "one.npz"), read_embeddings(tmp_path / "two.npz")
    assert list(a.paths) == list(b.paths) and np.array_equal(a.labels, b.labels)
    assert np.abs(a.embeddings - b.embeddings).max() <= 1e-5
    ia, ma = load_index(tmp_path / "one.faiss")
    ib, mb = load_index(tmp_path / "two.faiss")
    assert ma.paths == mb.paths and ma.labels == mb.labels
    assert np.abs(ia.reconstruct_n(0, ia.ntotal) - ib.reconstruct_n(0, ib.ntotal)).max() <= 1e-5
    n = len(a.paths)
    shares = f"{(n + 1) // 2} + {n // 2}"
    output = " ".join((two.stdout + two.stderr).split())  # the console wraps long lines
    assert output.count("wrote ") == 2 and f"on 2 processes ({shares} rows)" in output, output  # rank 0 only
    assert "on 2 processes" not in single.stdout + single.stderr

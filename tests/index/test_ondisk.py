"""On-disk IVF-PQ built from several EMB.npz shards: every vector once, in its list, searchable like in memory."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from daml_cli.errors import DamlError
from daml_cli.embeddings.file import write_embeddings
from daml_cli.index.ondisk import build_ondisk_ivfpq, ivfdata_path, sample_rows
from daml_cli.index.extend import add_to_index
from daml_cli.index.store import load_index, search
from tests.cli_runner import run_cli

faiss = pytest.importorskip("faiss")
PARAMS = {"nlist": 8, "m": 4, "nbits": 5, "nprobe": 8}
BOUNDS = [(0, 700), (700, 1500), (1500, 2000)]


def _shards(folder: Path, seed: int = 0) -> tuple[list[Path], np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2000, 16)).astype(np.float32)
    files = []
    for number, (a, b) in enumerate(BOUNDS):
        files.append(folder / f"part{number}.npz")
        write_embeddings(files[-1], x[a:b], np.arange(a, b) % 11, [f"img/{i}.jpg" for i in range(a, b)],
                         checkpoint_sha256="ab" * 32)
    return files, x


def _list_ids(index) -> list[np.ndarray]:
    lists = index.invlists
    return [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy() for i in range(index.nlist)]


def test_every_vector_once_in_its_coarse_cell_with_its_path(tmp_path: Path) -> None:
    files, x = _shards(tmp_path)
    meta = build_ondisk_ivfpq(files, tmp_path / "g.faiss", PARAMS)
    assert ivfdata_path(tmp_path / "g.faiss").is_file()
    assert meta.count == 2000 and meta.paths == [f"img/{i}.jpg" for i in range(2000)]
    assert meta.labels == [i % 11 for i in range(2000)]
    index, _ = load_index(tmp_path / "g.faiss")
    lists = _list_ids(index)
    assert sorted(np.concatenate(lists).tolist()) == list(range(2000))  # every id once across the shards
    centroids = index.quantizer.reconstruct_n(0, index.nlist)
    cell = ((x[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1).argmin(1)
    for number, ids in enumerate(lists):  # brute-force nearest centroid of each vector
        assert np.all(cell[ids] == number)


def test_search_equals_the_same_codebooks_in_memory(tmp_path: Path) -> None:
    files, x = _shards(tmp_path)
    build_ondisk_ivfpq(files, tmp_path / "g.faiss", PARAMS)
    disk, _ = load_index(tmp_path / "g.faiss")
    # the same quantiser and codebooks in a plain in-memory index, filled by one ordinary add
    quantizer = faiss.IndexFlatL2(16)
    quantizer.add(disk.quantizer.reconstruct_n(0, disk.nlist))
    memory = faiss.IndexIVFPQ(quantizer, 16, PARAMS["nlist"], PARAMS["m"], PARAMS["nbits"])
    faiss.copy_array_to_vector(faiss.vector_to_array(disk.pq.centroids), memory.pq.centroids)
    memory.is_trained = True
    memory.precompute_table()
    memory.nprobe = PARAMS["nprobe"]
    memory.add(x)
    d1, i1 = search(disk, x[:50], 10)
    d2, i2 = search(memory, x[:50], 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-5)


def test_moved_folder_still_loads_and_missing_lists_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    files, x = _shards(tmp_path / "a")
    build_ondisk_ivfpq(files, tmp_path / "a" / "g.faiss", PARAMS)
    before = search(load_index(tmp_path / "a" / "g.faiss")[0], x[:5], 3)[1]
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    after = search(load_index(tmp_path / "b" / "g.faiss")[0], x[:5], 3)[1]
    np.testing.assert_array_equal(before, after)
    (tmp_path / "b" / "g.ivfdata").unlink()
    with pytest.raises(DamlError, match="missing"):
        load_index(tmp_path / "b" / "g.faiss")


def test_add_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    files, x = _shards(tmp_path)
    build_ondisk_ivfpq(files, tmp_path / "g.faiss", PARAMS)
    before = (tmp_path / "g.faiss").read_bytes(), (tmp_path / "g.ivfdata").read_bytes()
    with pytest.raises(DamlError, match="on disk"):
        add_to_index(tmp_path / "g.faiss", x[:3], ["n0", "n1", "n2"], [0, 1, 2], checkpoint_sha256="ab" * 32)
    assert before == ((tmp_path / "g.faiss").read_bytes(), (tmp_path / "g.ivfdata").read_bytes())


def test_shards_from_different_checkpoints_are_refused(tmp_path: Path) -> None:
    files, x = _shards(tmp_path)
    write_embeddings(files[1], x[:5], np.zeros(5, int), [f"o{i}" for i in range(5)], checkpoint_sha256="cd" * 32)
    with pytest.raises(DamlError, match="another checkpoint"):
        build_ondisk_ivfpq(files, tmp_path / "g.faiss", PARAMS)
    assert not (tmp_path / "g.faiss").exists() and not (tmp_path / "g.ivfdata").exists()


def test_training_sample_is_uniform_over_shards_and_seeded() -> None:
    picks = sample_rows([5, 0, 10], 15, seed=1)
    assert [p.tolist() for p in picks] == [list(range(5)), [], list(range(10))]
    again = sample_rows([700, 800, 500], 300, seed=3)
    assert sum(p.size for p in again) == 300
    assert [p.tolist() for p in again] == [p.tolist() for p in sample_rows([700, 800, 500], 300, seed=3)]


def test_cli_builds_from_several_shards_and_refuses_them_without_on_disk(tmp_path: Path, capsys) -> None:
    files, x = _shards(tmp_path)
    out = tmp_path / "g.faiss"
    args = ["index", "build", *map(str, files), "--out", str(out), "--type", "ivfpq",
            *[a for k, v in PARAMS.items() for a in ("--param", f"{k}={v}")]]
    code, stdout, err = run_cli(args, capsys)
    assert code == 2 and "--on-disk" in err and not out.exists()
    code, stdout, err = run_cli([*args, "--on-disk"], capsys)
    assert code == 0, err
    assert "3 shard(s)" in stdout and "2000 vectors" in stdout
    code, stdout, err = run_cli(["index", "info", str(out)], capsys)
    assert code == 0 and "2000 vectors" in stdout

"""FAISS index build/save/load/search/add: round trips in and across processes, and every refusal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daml_cli.errors import ConfigError, DataError, IndexFileError
from daml_cli.index.metadata import sidecar_path
from daml_cli.index.extend import add_to_index
from daml_cli.index.store import build_index, index_params_of, load_index, save_index, search

TYPES = ["flat", "ivfpq", "hnsw"]


@pytest.mark.parametrize("index_type", TYPES)
def test_round_trip_same_and_other_process(tmp_path: Path, gallery, index_type: str, make_metadata) -> None:
    vectors, paths, labels = gallery
    index = build_index(vectors, index_type)
    path = tmp_path / f"g_{index_type}.faiss"
    save_index(index, make_metadata(index, paths, labels), path)
    queries = vectors[:20] + 0.01
    _, ids_before = search(index, queries, 5)
    loaded, metadata = load_index(path)
    _, ids_same = search(loaded, queries, 5)
    np.testing.assert_array_equal(ids_before, ids_same)
    assert metadata.index_type == index_type and metadata.count == len(paths)
    assert metadata.index_params == index_params_of(loaded)  # search params restored from the sidecar
    assert ids_same[:, 0].tolist() == list(range(20))  # each query is a jittered gallery vector

    np.save(tmp_path / "q.npy", queries)
    code = (
        "import sys, numpy as np\n"
        "from daml_cli.index.store import load_index, search\n"
        f"index, _ = load_index({str(path)!r})\n"
        f"_, ids = search(index, np.load({str(tmp_path / 'q.npy')!r}), 5)\n"
        "np.save(sys.argv[1], ids)\n"
    )
    out = tmp_path / "ids.npy"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, timeout=120)
    np.testing.assert_array_equal(np.load(out), ids_same)


def test_ivfpq_params_derived_and_recorded(gallery) -> None:
    vectors, _, _ = gallery
    index = build_index(vectors, "ivfpq")
    params = index_params_of(index)
    assert params == {"nlist": 17, "m": 4, "nbits": 4, "nprobe": 8}  # 700 // 39 cells, 16 / 4 sub-quantisers
    custom = index_params_of(build_index(vectors, "ivfpq", {"nlist": 4, "m": 8, "nprobe": 2}))
    assert custom == {"nlist": 4, "m": 8, "nbits": 4, "nprobe": 2}


def test_hnsw_params_recorded(gallery) -> None:
    params = index_params_of(build_index(gallery[0], "hnsw", {"M": 8, "efSearch": 20}))
    assert params == {"M": 8, "efConstruction": 80, "efSearch": 20}


def test_ivfpq_refuses_small_gallery(gallery) -> None:
    with pytest.raises(ConfigError, match="needs at least 624 vectors"):
        build_index(gallery[0][:300], "ivfpq")


def test_bad_type_and_params(gallery) -> None:
    with pytest.raises(ConfigError, match="unknown index type"):
        build_index(gallery[0], "lsh")
    with pytest.raises(ConfigError, match="unknown hnsw parameter"):
        build_index(gallery[0], "hnsw", {"nlist": 3})
    with pytest.raises(ConfigError, match="must divide"):
        build_index(gallery[0], "ivfpq", {"m": 5})


def test_search_validates_queries_and_clips_k(saved_flat) -> None:
    path, vectors, _, _ = saved_flat
    index, _ = load_index(path)
    distances, ids = search(index, vectors[:3], 10_000)
    assert ids.shape == (3, len(vectors)) and distances.shape == ids.shape
    assert np.all(np.diff(distances, axis=1) >= 0)
    assert sorted(ids[0].tolist()) == list(range(len(vectors)))
    with pytest.raises(DataError, match="2-D"):
        search(index, vectors[0], 1)
    with pytest.raises(DataError, match="dimension 8, expected 16"):
        search(index, vectors[:2, :8], 1)
    with pytest.raises(DataError, match="NaN"):
        search(index, np.full((1, 16), np.nan, np.float32), 1)
    with pytest.raises(ConfigError, match="positive"):
        search(index, vectors[:2], 0)
    assert search(index, vectors[:2].astype(np.float64), 1)[1][:, 0].tolist() == [0, 1]


def test_search_uses_sharded_gpus_for_flat_only(saved_flat, gallery, monkeypatch) -> None:
    import faiss

    path, vectors, _, _ = saved_flat
    flat, _ = load_index(path)
    hnsw = build_index(gallery[0], "hnsw", {"M": 8})
    calls: list[tuple[str, bool]] = []

    def fake_to_gpus(index, co=None):  # stands in for the GPU copy; searching it is the CPU index's search
        calls.append((type(index).__name__, co.shard))
        return index

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 2)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", fake_to_gpus)
    assert search(flat, vectors[:4], 3)[1][:, 0].tolist() == [0, 1, 2, 3]
    assert calls == [("IndexFlatL2", True)]
    search(flat, vectors[:2], 3, use_gpu=False)
    search(hnsw, vectors[:2], 3)
    big = build_index(np.random.default_rng(1).standard_normal((2100, 4)), "flat")
    search(big, np.zeros((1, 4)), 2100)  # k above FAISS's GPU limit of 2048: stays on the CPU
    assert len(calls) == 1
    search(big, np.zeros((1, 4)), 5000)  # clipped to ntotal first, still too big for the GPU
    assert len(calls) == 1

    def failing(index, co=None):
        raise RuntimeError("Error in GpuResources: failed: out of memory")

    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", failing)
    with pytest.warns(UserWarning, match="out of memory"):
        assert search(flat, vectors[:2], 1)[1][:, 0].tolist() == [0, 1]


def test_missing_files(tmp_path: Path, saved_flat) -> None:
    with pytest.raises(IndexFileError, match="does not exist"):
        load_index(tmp_path / "nope.faiss")
    path = saved_flat[0]
    sidecar_path(path).unlink()
    with pytest.raises(IndexFileError, match="metadata file .* is missing"):
        load_index(path)


def test_corrupt_sidecar(saved_flat) -> None:
    path = saved_flat[0]
    sidecar_path(path).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexFileError, match="not valid JSON"):
        load_index(path)


def test_sidecar_out_of_step(saved_flat) -> None:
    path = saved_flat[0]
    data = json.loads(sidecar_path(path).read_text())
    data["count"] -= 1
    data["paths"].pop()
    data["labels"].pop()
    sidecar_path(path).write_text(json.dumps(data))
    with pytest.raises(IndexFileError, match="out of step"):
        load_index(path)


def test_not_a_faiss_file(saved_flat) -> None:
    path = saved_flat[0]
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(IndexFileError, match="not a FAISS index"):
        load_index(path)


def test_truncated_index(saved_flat) -> None:
    path = saved_flat[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFileError, match="truncated"):
        load_index(path)
    path.write_bytes(data[:20])
    with pytest.raises(IndexFileError, match="truncated"):
        load_index(path)


def test_corrupt_body_caught_from_faiss(tmp_path: Path, gallery, make_metadata) -> None:
    vectors, paths, labels = gallery
    index = build_index(vectors, "hnsw", {"M": 8})
    path = tmp_path / "h.faiss"
    save_index(index, make_metadata(index, paths, labels), path)
    data = bytearray(path.read_bytes())
    data[40:] = b"\xff" * (len(data) - 40)  # valid header, garbage body
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="FAISS cannot read .* truncated or corrupt"):
        load_index(path)


def test_index_kind_differs_from_metadata(tmp_path: Path, gallery, make_metadata) -> None:
    vectors, paths, labels = gallery
    index = build_index(vectors, "hnsw", {"M": 8})
    path = tmp_path / "h.faiss"
    save_index(index, make_metadata(index, paths, labels), path)
    data = json.loads(sidecar_path(path).read_text())
    data.update(index_type="flat", index_params={})
    sidecar_path(path).write_text(json.dumps(data))
    with pytest.raises(IndexFileError, match="is a hnsw index but its metadata says flat"):
        load_index(path)


def test_expected_dimension_and_checkpoint(saved_flat) -> None:
    path = saved_flat[0]
    load_index(path, expected_dimension=16, expected_checkpoint_sha256="ab" * 32)
    with pytest.raises(IndexFileError, match="16-d embeddings but the model makes 32-d"):
        load_index(path, expected_dimension=32)
    with pytest.raises(IndexFileError, match="built from checkpoint abababababab"):
        load_index(path, expected_checkpoint_sha256="cd" * 32)


def test_add_appends_and_finds_new_vectors(saved_flat) -> None:
    path, vectors, paths, labels = saved_flat
    new = np.random.default_rng(5).standard_normal((3, 16)).astype(np.float32) * 50
    metadata = add_to_index(path, new, ["new/a.jpg", "new/b.jpg", "new/c.jpg"], [99, 98, 97])
    assert metadata.count == len(vectors) + 3
    index, reloaded = load_index(path)
    assert index.ntotal == len(vectors) + 3 and reloaded.paths[-3:] == ["new/a.jpg", "new/b.jpg", "new/c.jpg"]
    assert reloaded.labels[-3:] == [99, 98, 97] and reloaded.paths[:5] == paths[:5]
    assert search(index, new, 1)[1][:, 0].tolist() == [len(vectors), len(vectors) + 1, len(vectors) + 2]


@pytest.mark.parametrize("index_type", ["ivfpq", "hnsw"])
def test_add_to_approximate_index(tmp_path: Path, gallery, index_type: str, make_metadata) -> None:
    vectors, paths, labels = gallery
    index = build_index(vectors, index_type)
    path = tmp_path / "g.faiss"
    save_index(index, make_metadata(index, paths, labels), path)
    new = vectors[:2] + 100.0  # far from everything else
    add_to_index(path, new, ["x.jpg", "y.jpg"], [1, 2])
    loaded, metadata = load_index(path)
    assert metadata.count == len(vectors) + 2
    assert set(search(loaded, new, 2)[1][0].tolist()) == {len(vectors), len(vectors) + 1}


def test_add_refusals(saved_flat) -> None:
    path, vectors, _, _ = saved_flat
    before = (path.read_bytes(), sidecar_path(path).read_bytes())
    with pytest.raises(DataError, match="8-d but index"):
        add_to_index(path, vectors[:2, :8], ["a", "b"], [1, 2])
    with pytest.raises(DataError, match="labelled but the new embeddings are not"):
        add_to_index(path, vectors[:2], ["a", "b"], None)
    with pytest.raises(DataError, match="2 entries, expected 3"):
        add_to_index(path, vectors[:3], ["a", "b"], [1, 2, 3])
    with pytest.raises(IndexFileError, match="built from checkpoint"):
        add_to_index(path, vectors[:2], ["a", "b"], [1, 2], checkpoint_sha256="cd" * 32)
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before


def test_failed_save_leaves_nothing_half_written(
    tmp_path: Path, gallery, saved_flat, monkeypatch, make_metadata
) -> None:
    import faiss

    vectors, paths, labels = gallery
    index = build_index(vectors, "flat")

    def broken(*args, **kwargs):
        raise RuntimeError("Error in write_index: disk full")

    monkeypatch.setattr(faiss, "write_index", broken)
    fresh = tmp_path / "sub" / "fresh.faiss"
    with pytest.raises(IndexFileError, match="could not write index .* disk full"):
        save_index(index, make_metadata(index, paths, labels), fresh)
    assert list(fresh.parent.iterdir()) == []  # no index, no sidecar, no temporary files

    path = saved_flat[0]  # an existing index survives a failed rewrite untouched
    before = (path.read_bytes(), sidecar_path(path).read_bytes())
    with pytest.raises(IndexFileError):
        add_to_index(path, vectors[:2], ["a", "b"], [1, 2])
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before
    assert sorted(p.name for p in path.parent.glob("*gallery*")) == ["gallery.faiss", "gallery.faiss.json"]


def test_save_refuses_metadata_that_does_not_describe_the_index(tmp_path: Path, gallery, make_metadata) -> None:
    vectors, paths, labels = gallery
    index = build_index(vectors, "flat")
    metadata = make_metadata(build_index(vectors[:10], "flat"), paths[:10], labels[:10])
    with pytest.raises(IndexFileError, match="does not describe the index"):
        save_index(index, metadata, tmp_path / "x.faiss")
    assert not (tmp_path / "x.faiss").exists()

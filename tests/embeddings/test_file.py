"""EMB.npz: write/read round trip, nothing pickled, and one-line DataErrors for malformed files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from daml_cli.embeddings.file import read_embeddings, write_embeddings
from daml_cli.errors import DataError


def _write(path: Path, **arrays) -> Path:
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    return path


def _valid_arrays() -> dict:
    return {"embeddings": np.ones((3, 4), np.float32), "labels": np.array([0, 1, 1]),
            "paths": np.array(["a.jpg", "b.jpg", "c.jpg"])}


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((5, 3)).astype(np.float64)  # cast to float32 on write
    paths = ["x/1.jpg", "x/2.jpg", "ünï/3.jpg", "4.png", "5.png"]
    out = write_embeddings(tmp_path / "emb.npz", embeddings, [3, 3, 1, 0, 2], paths, checkpoint="runs/a/best.pt",
                           checkpoint_sha256="1a" * 32, root=tmp_path, preprocessing={"resize": 256, "crop": 224},
                           extra={"is_query": [True, False, True, False, True]})
    loaded = read_embeddings(out)
    assert loaded.embeddings.dtype == np.float32 and loaded.embeddings.shape == (5, 3)
    np.testing.assert_allclose(loaded.embeddings, embeddings, rtol=1e-6)
    assert loaded.labels.tolist() == [3, 3, 1, 0, 2] and loaded.labels.dtype == np.int64
    assert loaded.paths == paths and loaded.count == 5 and loaded.dimension == 3
    assert loaded.checkpoint == "runs/a/best.pt" and loaded.checkpoint_sha256 == "1a" * 32
    assert loaded.root == str(tmp_path) and loaded.preprocessing == {"crop": 224, "resize": 256}
    assert loaded.extra["is_query"] == [True, False, True, False, True]
    with np.load(out, allow_pickle=False) as archive:  # every array loads without pickle
        assert all(archive[key].dtype != object for key in archive.files)


def test_unlabelled_and_odd_suffix(tmp_path: Path) -> None:
    out = write_embeddings(tmp_path / "emb.bin", np.zeros((2, 2)), None, ["a", "b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.bin"]  # no stray "emb.bin.npz"
    loaded = read_embeddings(out)
    assert loaded.labels is None and loaded.checkpoint is None and loaded.preprocessing == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros(4), [0], ["a"]), "2-D"),
        ((np.zeros((2, 2)), [0], ["a", "b"]), "labels must be a 1-D array of 2"),
        ((np.zeros((2, 2)), [0, 1], ["a"]), "1 entries, expected 2"),
        ((np.zeros((2, 2)), [0.5, 1.0], ["a", "b"]), "labels must be integers"),
        ((np.full((2, 2), np.inf), [0, 1], ["a", "b"]), "infinite"),
        ((np.zeros((0, 2)), None, []), "no rows"),
        ((np.array([["x", "y"]]), None, ["a"]), "numeric"),
    ],
)
def test_write_refuses_bad_input(tmp_path: Path, args: tuple, message: str) -> None:
    with pytest.raises(DataError, match=message):
        write_embeddings(tmp_path / "e.npz", *args)
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_bad_hash(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="64 lowercase hex"):
        write_embeddings(tmp_path / "e.npz", np.zeros((1, 2)), None, ["a"], checkpoint_sha256="XYZ")


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_embeddings(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match="not a readable .npz"):
        read_embeddings(tmp_path / "junk.npz")
    good = _write(tmp_path / "good.npz", **_valid_arrays()).read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="not a readable .npz"):
        read_embeddings(tmp_path / "cut.npz")


def test_pickled_arrays_refused(tmp_path: Path) -> None:
    arrays = {**_valid_arrays(), "paths": np.array(["a", "b", "c"], dtype=object)}
    path = _write(tmp_path / "p.npz", **arrays)
    with pytest.raises(DataError, match="pickled"):
        read_embeddings(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"embeddings": None}, "no 'embeddings' array"),
        ({"paths": None}, "no 'paths' array"),
        ({"embeddings": np.ones((3, 4), np.float64)}, "must be float32"),
        ({"embeddings": np.ones(12, np.float32)}, "2-D"),
        ({"labels": np.array([0, 1])}, "labels must be a 1-D array of 3"),
        ({"labels": np.array(["a", "b", "c"])}, "labels must be integers"),
        ({"paths": np.array([1, 2, 3])}, "paths must be a 1-D array of strings"),
        ({"paths": np.array(["a", "b"])}, "2 entries, expected 3"),
        ({"root": np.array(["a", "b"])}, "'root' must be a single string"),
        ({"checkpoint_sha256": np.array("nothex")}, "not 64 lowercase hex"),
        ({"preprocessing_json": np.array("{oops")}, "not valid JSON"),
        ({"preprocessing_json": np.array("[1]")}, "must hold a JSON object"),
    ],
)
def test_read_refuses_malformed_contents(tmp_path: Path, change: dict, message: str) -> None:
    arrays = {**_valid_arrays(), **change}
    arrays = {key: value for key, value in arrays.items() if value is not None}
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as caught:
        read_embeddings(path)
    assert "\n" not in caught.value.one_line()


def test_zip_with_broken_member(tmp_path: Path) -> None:
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("embeddings.npy", b"\x93NUMPY garbage")
        archive.writestr("paths.npy", b"nonsense")
    with pytest.raises(DataError, match="not a readable .npz"):
        read_embeddings(path)

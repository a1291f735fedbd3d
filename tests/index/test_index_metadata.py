"""IndexMetadata: JSON round trip and strict validation of every field."""

from __future__ import annotations

import json

import pytest

from daml_cli.errors import IndexFileError
from daml_cli.index.metadata import FORMAT_VERSION, IndexMetadata, sidecar_path


def _metadata(**changes) -> IndexMetadata:
    values = dict(index_type="ivfpq", index_params={"nlist": 4, "m": 2, "nbits": 4, "nprobe": 2}, dimension=8,
                  count=3, paths=["a.jpg", "b/c.jpg", "é d.png"], labels=[0, 1, 1], root="/data/cub",
                  checkpoint="runs/x/checkpoints/best.pt", checkpoint_sha256="0f" * 32,
                  preprocessing={"resize": 256, "crop": 224, "mean": [0.5, 0.5, 0.5]})
    values.update(changes)
    return IndexMetadata(**values)


def test_sidecar_path() -> None:
    assert str(sidecar_path("out/gallery.faiss")) == "out/gallery.faiss.json"


def test_json_round_trip() -> None:
    original = _metadata()
    text = original.to_json()
    again = IndexMetadata.from_json(text)
    assert again == original
    assert json.loads(text)["format_version"] == FORMAT_VERSION and again.created == original.created
    assert list(json.loads(text))[-2:] == ["paths", "labels"]


def test_preprocessing_is_normalised_when_built_or_read_and_validate_changes_nothing() -> None:
    built = _metadata(preprocessing={"resize": 256, "mean": [1, 0, 0]})
    assert built.preprocessing["mean"] == [1.0, 0.0, 0.0] and all(type(v) is float for v in built.preprocessing["mean"])
    text = json.dumps({**json.loads(built.to_json()), "preprocessing": {"resize": 256, "mean": [1, 0, 0]}})
    read = IndexMetadata.from_json(text)
    assert all(type(v) is float for v in read.preprocessing["mean"])
    raw = {"resize": 256, "mean": [1, 0, 0]}  # ints, as a hand-edited file might hold
    read.preprocessing = raw
    read.validate()
    assert read.preprocessing is raw and raw == {"resize": 256, "mean": [1, 0, 0]}
    assert all(type(v) is int for v in raw["mean"])
    read.preprocessing = {"resize": 0}
    with pytest.raises(IndexFileError, match="resize"):
        read.validate()  # still checked, only not rewritten


def test_unlabelled_allowed() -> None:
    assert IndexMetadata.from_json(_metadata(labels=None).to_json()).labels is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "unsupported format_version 2"),
        ({"format_version": "1"}, "unsupported format_version"),
        ({"index_type": "lsh"}, "index_type must be one of"),
        ({"dimension": "8"}, "dimension must be a positive integer"),
        ({"dimension": True}, "dimension must be a positive integer"),
        ({"metric": "ip"}, "metric must be one of"),
        ({"count": 4}, "has 3 paths but count is 4"),
        ({"labels": [0, 1]}, "has 2 labels but count is 3"),
        ({"labels": [0, 1, "x"]}, "labels must be a list of integers"),
        ({"paths": ["a", "b", 3]}, "paths must be a list of strings"),
        ({"checkpoint_sha256": "abc"}, "checkpoint_sha256 must be 64"),
        ({"root": 5}, "root must be a string"),
        ({"preprocessing": []}, "preprocessing must be an object"),
        ({"index_params": {"nlist": [1]}}, "index_params must map"),
    ],
)
def test_invalid_fields_refused(change: dict, message: str) -> None:
    data = _metadata().to_dict()
    data.update(change)
    with pytest.raises(IndexFileError, match=message):
        IndexMetadata.from_json(json.dumps(data))


def test_missing_and_unknown_keys() -> None:
    data = _metadata().to_dict()
    del data["paths"]
    with pytest.raises(IndexFileError, match="missing key.*paths"):
        IndexMetadata.from_dict(data)
    data = {**_metadata().to_dict(), "colour": "red"}
    with pytest.raises(IndexFileError, match="unknown key.*colour"):
        IndexMetadata.from_dict(data)


def test_not_json_or_not_object() -> None:
    with pytest.raises(IndexFileError, match="not valid JSON"):
        IndexMetadata.from_json("{")
    with pytest.raises(IndexFileError, match="expected a JSON object"):
        IndexMetadata.from_json("[1, 2]")


def test_constructor_validates() -> None:
    with pytest.raises(IndexFileError, match="count"):
        _metadata(count=2)


def test_read_names_the_file(tmp_path) -> None:
    index = tmp_path / "g.faiss"
    with pytest.raises(IndexFileError, match="g.faiss.json is missing"):
        IndexMetadata.read(index)
    sidecar_path(index).write_bytes(b"\xff\xfe")
    with pytest.raises(IndexFileError, match="not UTF-8"):
        IndexMetadata.read(index)
    sidecar_path(index).write_text(json.dumps({**_metadata().to_dict(), "count": 9}))
    with pytest.raises(IndexFileError, match=r"metadata file .*g\.faiss\.json: has 3 paths"):
        IndexMetadata.read(index)


def test_class_names_travel_from_embeddings_to_the_sidecar(tmp_path) -> None:
    import numpy as np

    from daml_cli.index.build import build_index_file
    from daml_cli.embeddings.file import read_embeddings, write_embeddings
    from daml_cli.index.extend import add_to_index

    vectors = np.eye(4, dtype=np.float32)
    names = {"0": "Sanskrit/character05", "1": "Latin/character01", "7": "unused"}
    write_embeddings(tmp_path / "a.npz", vectors, [0, 0, 1, 1], [f"{i}.png" for i in range(4)], extra={"class_names": names})
    metadata = build_index_file(read_embeddings(tmp_path / "a.npz"), tmp_path / "g.faiss")
    assert metadata.class_names == {"0": "Sanskrit/character05", "1": "Latin/character01"}  # only labels present
    assert metadata.names_by_label() == {0: "Sanskrit/character05", 1: "Latin/character01"}
    added = add_to_index(tmp_path / "g.faiss", vectors[:2], ["4.png", "5.png"], [2, 2], class_names={"2": "Greek/character09"})
    assert added.class_names == {"0": "Sanskrit/character05", "1": "Latin/character01", "2": "Greek/character09"}
    assert IndexMetadata.read(tmp_path / "g.faiss").class_names == added.class_names
    with pytest.raises(IndexFileError, match="class_names"):
        IndexMetadata(index_type="flat", index_params={}, dimension=2, count=0, paths=[], class_names={"x": "a"})

"""`folder`: a user's class folders, split by --source (seeded) or --train-dir/--test-dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.errors import DataError

CLASSES = {f"Alpha/char{i:02d}": 2 for i in range(6)} | {f"Beta/char{i:02d}": 3 for i in range(4)}


def _split_names(dataset_dir: Path, split: str) -> set[str]:
    return {row.class_name for row in read_manifest(dataset_dir).rows if row.split == split}


def test_source_split_is_seeded_disjoint_and_sized(tmp_path: Path, make_tree) -> None:
    source = make_tree(tmp_path / "src", CLASSES)
    report = prepare_dataset("folder", tmp_path / "a", PrepareOptions(source=source, test_fraction=0.3, seed=1))
    assert report.classes == {"train": 7, "test": 3}
    assert sum(report.images.values()) == 6 * 2 + 4 * 3
    train, test = _split_names(report.dataset_dir, "train"), _split_names(report.dataset_dir, "test")
    assert not train & test and train | test == set(CLASSES)
    again = prepare_dataset("folder", tmp_path / "b", PrepareOptions(source=source, test_fraction=0.3, seed=1))
    assert _split_names(again.dataset_dir, "test") == test
    others = {
        frozenset(_split_names(prepare_dataset(
            "folder", tmp_path / f"s{seed}", PrepareOptions(source=source, test_fraction=0.3, seed=seed)
        ).dataset_dir, "test"))
        for seed in range(2, 6)
    }
    assert len(others | {frozenset(test)}) > 1


def test_rows_labels_paths_and_copies(tmp_path: Path, make_tree) -> None:
    source = make_tree(tmp_path / "src", CLASSES)
    (source / "Alpha" / "char00" / "._img00.png").write_bytes(b"macos fork")
    (source / "Alpha" / "char00" / ".hidden.png").write_bytes(b"hidden")
    (source / "Alpha" / "char00" / "notes.txt").write_text("not an image")
    (source / "Beta" / "char00" / "UPPER.JPG").write_bytes((source / "Beta" / "char00" / "img00.png").read_bytes())
    report = prepare_dataset("folder", tmp_path / "out", PrepareOptions(source=source))
    manifest = read_manifest(report.dataset_dir)
    assert len(manifest.rows) == 6 * 2 + 4 * 3 + 1
    names = {row.path.rsplit("/", 1)[-1] for row in manifest.rows}
    assert "UPPER.JPG" in names and not any(n.startswith(".") for n in names) and "notes.txt" not in names
    for row in manifest.rows:
        assert row.path == f"images/{row.split}/{row.class_name}/{Path(row.path).name}"
        assert manifest.absolute(row).read_bytes() == (source / row.class_name / Path(row.path).name).read_bytes()
    # Dense labels: train classes first (sorted by name), then test classes.
    train = sorted({row.class_name for row in manifest.rows if row.split == "train"})
    test = sorted({row.class_name for row in manifest.rows if row.split == "test"})
    label_of = {row.class_name: row.label for row in manifest.rows}
    assert [label_of[n] for n in train + test] == list(range(len(CLASSES)))
    assert (source / "Alpha" / "char00" / "img00.png").is_file()  # copied, not moved


def test_train_and_test_dirs(tmp_path: Path, make_tree) -> None:
    train_dir = make_tree(tmp_path / "train", {"a": 2, "b": 2, "c/d": 3})
    test_dir = make_tree(tmp_path / "test", {"x": 4, "y": 1})
    report = prepare_dataset("folder", tmp_path / "out", PrepareOptions(train_dir=train_dir, test_dir=test_dir))
    assert report.images == {"train": 7, "test": 5}
    assert report.classes == {"train": 3, "test": 2}
    assert _split_names(report.dataset_dir, "train") == {"a", "b", "c/d"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (lambda t: PrepareOptions(source=t / "empty"), "no images"),
        (lambda t: PrepareOptions(source=t / "one"), "at least 2"),
        (lambda t: PrepareOptions(source=t / "missing"), "does not exist"),
        (lambda t: PrepareOptions(source=t / "flat"), "holds images directly"),
        (lambda t: PrepareOptions(source=t / "nested"), "subfolder"),
        (lambda t: PrepareOptions(train_dir=t / "left", test_dir=t / "right"), "both --train-dir and --test-dir"),
        (lambda t: PrepareOptions(train_dir=t / "left", test_dir=t / "missing"), "does not exist"),
        (lambda t: PrepareOptions(train_dir=t / "left", test_dir=t / "left"), "overlap"),
        (lambda t: PrepareOptions(train_dir=t / "left"), "--test-dir is missing"),
        (lambda t: PrepareOptions(), "--source"),
        (lambda t: PrepareOptions(source=t / "left", train_dir=t / "left", test_dir=t / "right"), "not both"),
        (lambda t: PrepareOptions(source=t / "left", test_fraction=1.0), "test-fraction"),
    ],
)
def test_errors(tmp_path: Path, make_tree, options, message: str) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images here")
    make_tree(tmp_path / "one", {"only": 3})
    make_tree(tmp_path / "flat", {".": 2, "a": 2})
    make_tree(tmp_path / "nested", {"a": 2, "a/b": 2})
    make_tree(tmp_path / "left", {"a": 2, "shared": 2})
    make_tree(tmp_path / "right", {"b": 2, "shared": 2})
    with pytest.raises(DataError, match=message):
        prepare_dataset("folder", tmp_path / "out", options(tmp_path))
    assert not (tmp_path / "out" / "folder").exists()


def test_changed_source_is_refused_without_force(tmp_path: Path, make_tree) -> None:
    first = make_tree(tmp_path / "one", {"a": 2, "b": 2})
    second = make_tree(tmp_path / "two", {"c": 2, "d": 2})
    prepare_dataset("folder", tmp_path / "out", PrepareOptions(source=first))
    assert prepare_dataset("folder", tmp_path / "out", PrepareOptions(source=first)).skipped
    with pytest.raises(DataError, match="other settings"):
        prepare_dataset("folder", tmp_path / "out", PrepareOptions(source=second))

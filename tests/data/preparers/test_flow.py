"""The shared prepare flow: idempotency, atomicity, refusal, validation carving, expected counts, checks, resize."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.data.preparers.marker import MARKER_NAME
from daml_cli.data.resized import RESIZED_INFO_NAME, read_resized_info
from daml_cli.errors import DataError


def test_prepare_writes_manifest_marker_and_report(tmp_path: Path, fake_preparer) -> None:
    report = prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())
    assert report.dataset_dir == tmp_path / "fake"
    assert not report.skipped
    assert report.images == {"train": 12, "test": 6}
    assert report.classes == {"train": 4, "test": 2}
    manifest = read_manifest(tmp_path / "fake")
    assert len(manifest.rows) == 18
    assert all(manifest.absolute(row).is_file() for row in manifest.rows)
    marker = json.loads((tmp_path / "fake" / MARKER_NAME).read_text())
    assert marker["preparer"] == "fake" and marker["images"] == {"train": 12, "test": 6}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake"]  # no staging left behind


def test_second_run_is_skipped_and_force_redoes(tmp_path: Path, fake_preparer) -> None:
    preparer = fake_preparer()
    prepare_dataset("fake", tmp_path, PrepareOptions(), preparer)
    manifest = tmp_path / "fake" / "manifest.csv"
    before = manifest.stat().st_mtime_ns
    again = prepare_dataset("fake", tmp_path, PrepareOptions(), preparer)
    assert again.skipped and preparer.calls == 1
    assert again.images == {"train": 12, "test": 6} and list(again.images) == ["train", "test"]
    assert manifest.stat().st_mtime_ns == before
    forced = prepare_dataset("fake", tmp_path, PrepareOptions(force=True), preparer)
    assert not forced.skipped and preparer.calls == 2


def test_unknown_name_lists_known_names(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        prepare_dataset("no-such-set", tmp_path, PrepareOptions())
    assert "no-such-set" in caught.value.message
    assert "digits" in caught.value.hint and "folder" in caught.value.hint
    assert not (tmp_path / "no-such-set").exists()


def test_failing_preparer_leaves_nothing(tmp_path: Path, fake_preparer) -> None:
    with pytest.raises(RuntimeError):
        prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer(fail=True))
    assert list(tmp_path.iterdir()) == []


def test_failed_force_keeps_the_good_dataset(tmp_path: Path, fake_preparer) -> None:
    prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())
    manifest_text = (tmp_path / "fake" / "manifest.csv").read_text()
    with pytest.raises(RuntimeError):
        prepare_dataset("fake", tmp_path, PrepareOptions(force=True), fake_preparer(fail=True))
    assert (tmp_path / "fake" / "manifest.csv").read_text() == manifest_text
    assert prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer()).skipped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake"]


def test_existing_user_folder_is_refused_unless_forced(tmp_path: Path, fake_preparer) -> None:
    user_file = tmp_path / "fake" / "my-notes.txt"
    user_file.parent.mkdir()
    user_file.write_text("precious")
    with pytest.raises(DataError) as caught:
        prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())
    assert "--force" in caught.value.hint
    assert user_file.read_text() == "precious"
    prepare_dataset("fake", tmp_path, PrepareOptions(force=True), fake_preparer())
    assert not user_file.exists() and (tmp_path / "fake" / "manifest.csv").is_file()


def test_empty_existing_folder_is_used(tmp_path: Path, fake_preparer) -> None:
    (tmp_path / "fake").mkdir()
    assert not prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer()).skipped


def test_edited_manifest_is_not_verified(tmp_path: Path, fake_preparer) -> None:
    prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())
    manifest = tmp_path / "fake" / "manifest.csv"
    manifest.write_text(manifest.read_text() + "images/c0/0.png,0,c0,train\n")
    with pytest.raises(DataError, match="changed"):
        prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())


def test_other_settings_are_refused_unless_forced(tmp_path: Path, fake_preparer) -> None:
    prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer())
    with pytest.raises(DataError, match="val_classes"):
        prepare_dataset("fake", tmp_path, PrepareOptions(val_classes=1), fake_preparer())
    report = prepare_dataset("fake", tmp_path, PrepareOptions(val_classes=1, force=True), fake_preparer())
    assert report.classes == {"train": 3, "val": 1, "test": 2}


def _labels(rows, split: str) -> set[int]:
    return {row.label for row in rows if row.split == split}


def test_val_classes_are_carved_from_train_only(tmp_path: Path, fake_preparer) -> None:
    prepare_dataset("fake", tmp_path, PrepareOptions(val_classes=0.5, seed=3), fake_preparer(train=8))
    rows = read_manifest(tmp_path / "fake").rows
    train, val, test = _labels(rows, "train"), _labels(rows, "val"), _labels(rows, "test")
    assert len(val) == 4 and len(train) == 4 and len(test) == 2
    assert not (val & train) and not (val & test)
    assert val | train == set(range(8))
    # Same seed, same choice; some other seed chooses differently.
    prepare_dataset("fake", tmp_path / "again", PrepareOptions(val_classes=0.5, seed=3), fake_preparer(train=8))
    assert _labels(read_manifest(tmp_path / "again" / "fake").rows, "val") == val
    choices = set()
    for seed in range(6):
        prepare_dataset("fake", tmp_path / f"s{seed}", PrepareOptions(val_classes=0.5, seed=seed), fake_preparer(train=8))
        choices.add(frozenset(_labels(read_manifest(tmp_path / f"s{seed}" / "fake").rows, "val")))
    assert len(choices) > 1


@pytest.mark.parametrize("value", [4, 1.5, -0.2])
def test_bad_val_classes_are_errors(tmp_path: Path, fake_preparer, value: float) -> None:
    with pytest.raises(DataError, match="val-classes"):
        prepare_dataset("fake", tmp_path, PrepareOptions(val_classes=value), fake_preparer(train=4))
    assert not (tmp_path / "fake").exists()


def test_expected_count_mismatch_names_both_numbers(tmp_path: Path, fake_preparer) -> None:
    expected = ExpectedCounts(images={"train": 13, "test": 6}, classes={"train": 4, "test": 3})
    with pytest.raises(DataError) as caught:
        prepare_dataset("fake", tmp_path, PrepareOptions(), fake_preparer(expected=expected))
    assert "train has 12 images, expected 13" in caught.value.message
    assert "test has 2 classes, expected 3" in caught.value.message
    assert "test has 6 images" not in caught.value.message
    assert not (tmp_path / "fake").exists()


def test_expected_counts_are_checked_before_val_carving(tmp_path: Path, fake_preparer) -> None:
    expected = ExpectedCounts(images={"train": 12, "test": 6}, classes={"train": 4, "test": 2})
    report = prepare_dataset("fake", tmp_path, PrepareOptions(val_classes=1), fake_preparer(expected=expected))
    assert report.images == {"train": 9, "val": 3, "test": 6}


class TruncatingPreparer:
    """A fake preparer whose second class holds one truncated PNG."""

    name = "trunc"
    expected = None

    def __init__(self, inner) -> None:
        self.inner = inner

    def build(self, staging: Path, options: PrepareOptions):
        rows = self.inner.build(staging, options)
        broken = staging / rows[4].path
        broken.write_bytes(broken.read_bytes()[:40])
        return rows


def test_check_images_reports_a_truncated_image_by_path(tmp_path: Path, fake_preparer) -> None:
    preparer = TruncatingPreparer(fake_preparer())
    # Without --check-images the broken file is not decoded (prepare stays fast).
    assert not prepare_dataset("trunc", tmp_path / "a", PrepareOptions(), preparer).skipped
    with pytest.raises(DataError) as caught:
        prepare_dataset("trunc", tmp_path / "b", PrepareOptions(check_images=True), preparer)
    assert "1 of 18 images cannot be read" in caught.value.message
    assert "images/c1/1.png" in caught.value.message
    assert not (tmp_path / "b" / "trunc").exists()


def test_resize_writes_a_copy_and_records_it(tmp_path: Path, fake_preparer) -> None:
    report = prepare_dataset("fake", tmp_path, PrepareOptions(resize=8), fake_preparer())
    info = read_resized_info(report.dataset_dir)
    assert info is not None and info["size"] == 8 and info["images"] == 18
    assert (report.dataset_dir / RESIZED_INFO_NAME).is_file()
    for row in read_manifest(report.dataset_dir).rows:
        original = Image.open(report.dataset_dir / row.path)
        with Image.open(report.dataset_dir / info["folder"] / row.path) as small:
            assert min(small.size) == 8
            assert small.size[0] / small.size[1] == pytest.approx(original.size[0] / original.size[1], rel=0.1)
    marker = json.loads((report.dataset_dir / MARKER_NAME).read_text())
    assert marker["settings"]["resize"] == 8
    assert read_resized_info(tmp_path) is None

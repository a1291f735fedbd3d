"""`omniglot`: the small1 -> small2 zero-shot benchmark from the zips in ../shared, and safe extraction."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers.base import PrepareOptions, PrepareReport
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.data.preparers.omniglot import OmniglotPreparer, safe_extract_zip
from daml_cli.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "omniglot"
needs_omniglot = pytest.mark.skipif(
    not (SHARED / "images_background_small1.zip").is_file(),
    reason=f"Omniglot zips not found in {SHARED} (the shared data folder is absent)",
)


def prepare_omniglot_benchmark(root: Path, shared_dir: Path) -> PrepareReport:
    """``ROOT/omniglot`` prepared from the two zips in `shared_dir`, as `daml prepare omniglot` would."""
    options = replace(PrepareOptions(), source=Path(shared_dir), archives=[])
    return prepare_dataset("omniglot", Path(root), options, OmniglotPreparer())


@needs_omniglot
def test_benchmark_counts_and_disjoint_alphabets(tmp_path: Path) -> None:
    report = prepare_omniglot_benchmark(tmp_path, SHARED)
    assert report.images == {"train": 2720, "test": 2120}
    assert report.classes == {"train": 136, "test": 106}
    rows = read_manifest(report.dataset_dir).rows
    test_alphabets = {row.class_name.split("/")[0] for row in rows if row.split == "test"}
    train_alphabets = {row.class_name.split("/")[0] for row in rows if row.split == "train"}
    assert test_alphabets == {"Japanese_(katakana)", "Sanskrit", "Tagalog"}
    assert {"Greek", "Latin"} <= train_alphabets
    assert all(row.class_name.count("/") == 1 and "/character" in row.class_name for row in rows)
    assert prepare_omniglot_benchmark(tmp_path, SHARED).skipped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["omniglot"]


@needs_omniglot
def test_missing_or_wrong_zip_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset("omniglot", tmp_path, PrepareOptions(source=tmp_path / "nowhere"))
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("images_background_small1.zip", "images_background_small2.zip"):
        (bad / name).write_bytes(b"not the real zip")
    with pytest.raises(DataError, match="sha256"):
        prepare_dataset("omniglot", tmp_path, PrepareOptions(source=bad))
    assert not (tmp_path / "omniglot").exists()


@pytest.mark.parametrize("member", ["../escape.txt", "/abs.txt", "a/../../escape.txt"])
def test_unsafe_zip_members_are_refused(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("fine.txt", "ok")
        bundle.writestr(member, "bad")
    with pytest.raises(DataError, match="unsafe"):
        safe_extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "out").exists()

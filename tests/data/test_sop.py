"""`daml prepare sop`: Ebay_train / Ebay_test as the split, full-size counts, and broken input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fixtures_archives import (  # noqa: F401 (disposable_root is a fixture)
    assert_refused,
    prepare_archives,
    Entry,
    disposable_root,
    trust_fixture_files,
    write_zip,
)
from fixtures_cub import MINI_IDS, build_cub_tgz
from fixtures_sop import (  # noqa: F401 (session fixtures)
    FULL,
    HEADER,
    MINI,
    build_sop_zip,
    make_lists,
    sop_entries,
    sop_full_zip,
    sop_mini_zip,
)

from daml_cli.data.images import load_rgb
from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers import sop as sop_module
from daml_cli.data.preparers.base import ExpectedCounts
from daml_cli.data.preparers.checks import check_expected, count_rows


@pytest.fixture
def mini_expected(monkeypatch) -> None:
    monkeypatch.setattr(sop_module, "EXPECTED", ExpectedCounts({s: n for s, (n, _) in MINI.items()},
                                                               {s: c for s, (_, c) in MINI.items()}))


def _prepare(root: Path, archive, *flags: str, capsys) -> tuple[int, str, str]:
    return prepare_archives("sop", root, [archive], *flags, capsys=capsys)


def test_mini_archive(sop_mini_zip, tmp_path, monkeypatch, capsys, mini_expected):
    trust_fixture_files(monkeypatch, "sop", {"archive": sop_mini_zip})
    code, _, err = _prepare(tmp_path, sop_mini_zip, "--check-images", capsys=capsys)
    assert code == 0, err
    manifest = read_manifest(tmp_path / "sop")
    train, test = manifest.split("train"), manifest.split("test")
    assert {r.label for r in train} == set(range(1, 13)) and {r.label for r in test} == set(range(13, 25))
    first = manifest.rows[0]
    assert (first.path, first.label, first.class_name) == ("images/bicycle_final/111085122871_0.JPG", 1, "bicycle_1")
    assert {r.class_name.rsplit("_", 1)[0] for r in test} == set(sop_module.SUPER_CLASSES)
    for row in manifest.rows[1:3]:  # the grayscale and the CMYK JPEG
        assert load_rgb(manifest.absolute(row)).mode == "RGB"


def test_full_size_lists_give_the_published_counts(tmp_path):
    lists = make_lists(FULL)
    folder = tmp_path / "Stanford_Online_Products"
    folder.mkdir()
    for name, rows in (("Ebay_train.txt", lists.train), ("Ebay_test.txt", lists.test)):
        (folder / name).write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    rows = sop_module.parse_sop(folder)
    images, classes = count_rows(rows)
    assert images == {"train": 59551, "test": 60502} and classes == {"train": 11318, "test": 11316}
    check_expected(sop_module.EXPECTED, rows, "sop")  # the preparer's own expectation agrees
    assert min(r.label for r in rows if r.split == "test") == 11319


@pytest.mark.slow
def test_full_size_archive(sop_full_zip, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "sop", {"archive": sop_full_zip})
    started = time.perf_counter()
    code, out, err = _prepare(disposable_root, sop_full_zip, capsys=capsys)
    print(f"prepare sop (full-size fixture, 120,053 images): {time.perf_counter() - started:.1f} s")
    assert code == 0, err
    manifest = read_manifest(disposable_root / "sop")
    assert (len(manifest.split("train")), len(manifest.split("test"))) == (59551, 60502)
    assert len({r.label for r in manifest.split("train")}) == 11318
    assert len({r.label for r in manifest.split("test")}) == 11316


def _refused(tmp_path: Path, archive, *flags: str, capsys) -> str:
    return assert_refused(tmp_path, "sop", [archive], *flags, capsys=capsys)


def test_symlink_member_is_refused(tmp_path, monkeypatch, capsys):
    entries = sop_entries(make_lists(MINI)) + [
        Entry("Stanford_Online_Products/bicycle_final/evil.JPG", kind="symlink", target="/etc/shadow")]
    archive = write_zip(tmp_path / "Stanford_Online_Products.zip", entries)
    trust_fixture_files(monkeypatch, "sop", {"archive": archive})
    assert "symbolic link" in _refused(tmp_path, archive, capsys=capsys)


def test_dotdot_member_is_refused(tmp_path, monkeypatch, capsys):
    entries = sop_entries(make_lists(MINI)) + [Entry("Stanford_Online_Products/../../../../sop-escape.txt", b"x")]
    archive = write_zip(tmp_path / "Stanford_Online_Products.zip", entries)
    trust_fixture_files(monkeypatch, "sop", {"archive": archive})
    assert "contains '..'" in _refused(tmp_path, archive, capsys=capsys)


def test_missing_list_is_refused(tmp_path, monkeypatch, capsys):
    archive = build_sop_zip(tmp_path / "Stanford_Online_Products.zip",
                            omit=frozenset({"Ebay_test.txt"}))
    trust_fixture_files(monkeypatch, "sop", {"archive": archive})
    assert "has no Ebay_test.txt" in _refused(tmp_path, archive, capsys=capsys)


def test_list_without_header_is_refused(tmp_path, monkeypatch, capsys):
    lists = make_lists(MINI)
    archive = write_zip(tmp_path / "Stanford_Online_Products.zip",
                        sop_entries(lists, train_text="\n".join(lists.train) + "\n"))
    trust_fixture_files(monkeypatch, "sop", {"archive": archive})
    assert "does not start with the header" in _refused(tmp_path, archive, capsys=capsys)


def test_missing_image_is_refused(tmp_path, monkeypatch, capsys):
    lost = make_lists(MINI).test[3].split()[3]
    archive = build_sop_zip(tmp_path / "Stanford_Online_Products.zip", omit=frozenset({lost}))
    trust_fixture_files(monkeypatch, "sop", {"archive": archive})
    err = _refused(tmp_path, archive, capsys=capsys)
    assert "missing from Stanford_Online_Products.zip" in err and lost in err


def test_truncated_zip_and_published_checksum(sop_mini_zip, tmp_path, capsys):
    cut = tmp_path / "Stanford_Online_Products.zip"
    cut.write_bytes(sop_mini_zip.read_bytes()[:-300])
    assert "not a readable zip archive" in _refused(tmp_path, cut, "--skip-checksum", capsys=capsys)
    assert "3,083,860,082" in _refused(tmp_path, sop_mini_zip, capsys=capsys)


def test_archive_of_another_dataset_is_refused(tmp_path, capsys):
    cub = build_cub_tgz(tmp_path / "Stanford_Online_Products.zip", MINI_IDS)
    err = _refused(tmp_path, cub, "--skip-checksum", capsys=capsys)
    assert "contains no Stanford_Online_Products/" in err and "daml prepare cub" in err

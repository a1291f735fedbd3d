"""`daml prepare inshop`: train items vs. query/gallery test items (extra manifest columns), and broken input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fixtures_archives import (  # noqa: F401 (disposable_root is a fixture)
    assert_refused,
    prepare_archives,
    disposable_root,
    run_cli,
    trust_fixture_files,
    write_zip,
)
from fixtures_cub import MINI_IDS, build_cub_tgz
from fixtures_inshop import MINI, build_inshop, image_entries, inshop_full, make_rows, partition_text  # noqa: F401

from daml_cli.data.images import load_rgb
from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers import inshop as inshop_module
from daml_cli.data.preparers.base import ExpectedCounts


@pytest.fixture
def mini_expected(monkeypatch) -> None:
    expected = ExpectedCounts({"train": MINI["train"][0], "test": MINI["query"][0] + MINI["gallery"][0]},
                              {"train": MINI["train"][1], "test": MINI["query"][1]})
    monkeypatch.setattr(inshop_module, "EXPECTED", expected)
    monkeypatch.setattr(inshop_module, "EXPECTED_QUERY_GALLERY", (MINI["query"][0], MINI["gallery"][0]))


def _prepare(root: Path, files, *flags: str, capsys) -> tuple[int, str, str]:
    return prepare_archives("inshop", root, files, *flags, capsys=capsys)


def _query_gallery(manifest) -> tuple[list, list]:
    test = manifest.split("test")
    queries = [r for r in test if r.is_query is True and r.is_gallery is False]
    gallery = [r for r in test if r.is_gallery is True and r.is_query is False]
    return queries, gallery


@pytest.mark.parametrize("top", ["img", "img_highres"])
def test_mini_layouts(top, tmp_path, monkeypatch, capsys, mini_expected):
    files = build_inshop(tmp_path, top=top)
    trust_fixture_files(monkeypatch, "inshop", files)
    code, _, err = _prepare(tmp_path / "root", files.values(), "--check-images", capsys=capsys)
    assert code == 0, err
    manifest = read_manifest(tmp_path / "root" / "inshop")
    assert manifest.extra_columns == ("is_query", "is_gallery")
    queries, gallery = _query_gallery(manifest)
    assert (len(queries), len(gallery)) == (MINI["query"][0], MINI["gallery"][0])
    assert len(queries) + len(gallery) == len(manifest.split("test"))  # every test row is exactly one of both
    assert {r.label for r in queries} == {r.label for r in gallery}
    assert all(r.is_query is None and r.is_gallery is None for r in manifest.split("train"))
    csv_lines = (manifest.root / "manifest.csv").read_text().splitlines()
    assert {line.rsplit(",", 2)[1:] == ["", ""] for line in csv_lines if ",train," in line} == {True}
    first = manifest.rows[0]
    assert (first.path, first.label, first.class_name) == (
        "images/WOMEN/Blouses_Shirts/id_00000001/01_1_front.jpg", 1, "id_00000001")
    assert all(manifest.absolute(r).is_file() for r in manifest.rows)
    assert load_rgb(manifest.absolute(manifest.rows[1])).mode == "RGB"  # the CMYK JPEG


def test_full_size_fixture(inshop_full, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "inshop", inshop_full)
    started = time.perf_counter()
    code, _, err = _prepare(disposable_root, inshop_full.values(), capsys=capsys)
    print(f"prepare inshop (full-size fixture, 52,712 images): {time.perf_counter() - started:.1f} s")
    assert code == 0, err
    manifest = read_manifest(disposable_root / "inshop")
    train, test = manifest.split("train"), manifest.split("test")
    assert (len(train), len(test)) == (25882, 26830)
    assert (len({r.label for r in train}), len({r.label for r in test})) == (3997, 3985)
    queries, gallery = _query_gallery(manifest)
    assert (len(queries), len(gallery)) == (14218, 12612)


def _refused(tmp_path: Path, files, *flags: str, capsys) -> str:
    return assert_refused(tmp_path, "inshop", files, *flags, capsys=capsys)


def test_wrong_query_gallery_counts_name_both_numbers(tmp_path, monkeypatch, capsys, mini_expected):
    monkeypatch.setattr(inshop_module, "EXPECTED_QUERY_GALLERY", (14218, 12612))
    files = build_inshop(tmp_path)
    err = _refused(tmp_path, files.values(), "--skip-checksum", capsys=capsys)
    assert f"{MINI['query'][0]} query and {MINI['gallery'][0]} gallery images, expected 14,218 and 12,612" in err


def test_truncated_partition_file_is_refused(tmp_path, capsys):
    files = build_inshop(tmp_path, declared=52712)
    err = _refused(tmp_path, files.values(), "--skip-checksum", capsys=capsys)
    assert "says it lists 52,712 images but has" in err


def test_partition_file_of_another_dataset_is_refused(tmp_path, capsys):
    files = build_inshop(tmp_path)
    files["partition"].write_text("000001.jpg 0\n000002.jpg 0\n")  # CelebA's file of the same name
    err = _refused(tmp_path, files.values(), "--skip-checksum", capsys=capsys)
    assert "CelebA" in err


def test_query_item_without_gallery_is_refused(tmp_path, capsys, mini_expected, monkeypatch):
    rows = make_rows(MINI)
    lone = next(item for _, item, status in rows if status == "query")
    rows = [r for r in rows if not (r[1] == lone and r[2] == "gallery")]
    (tmp_path / "list_eval_partition.txt").write_text(partition_text(rows))
    archive = write_zip(tmp_path / "img.zip", image_entries(rows))
    monkeypatch.setattr(inshop_module, "EXPECTED_QUERY_GALLERY", None)
    err = _refused(tmp_path, [archive, tmp_path / "list_eval_partition.txt"], "--skip-checksum", capsys=capsys)
    assert "have no gallery image" in err


def test_missing_image_and_missing_partition(tmp_path, capsys, mini_expected):
    lost = make_rows(MINI)[5][0]
    files = build_inshop(tmp_path, omit=frozenset({lost}))
    err = _refused(tmp_path, files.values(), "--skip-checksum", capsys=capsys)
    assert "missing from img.zip" in err and lost[4:] in err
    err = _refused(tmp_path, [files["img"]], "--skip-checksum", capsys=capsys)
    assert "missing list_eval_partition.txt" in err


def test_archive_of_another_dataset_is_refused(tmp_path, capsys):
    cub = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS)
    err = _refused(tmp_path, [cub], capsys=capsys)
    assert "is not one of the In-Shop" in err
    assert "daml prepare cub" in err


def test_files_placed_by_hand_in_the_download_folder_are_used(tmp_path, monkeypatch, capsys, mini_expected):
    root = tmp_path / "root"
    (root / "downloads").mkdir(parents=True)
    files = build_inshop(root / "downloads")  # In-Shop has no download URL: the user puts the files there
    trust_fixture_files(monkeypatch, "inshop", files)
    code, _, err = run_cli(["prepare", "inshop", str(root)], capsys)
    assert code == 0, err
    assert len(read_manifest(root / "inshop").rows) == sum(n for n, _ in MINI.values())

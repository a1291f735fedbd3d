"""`daml prepare cub`: the full-size fixture with exact counts, the flow options, and hostile or broken input."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from PIL import Image
from fixtures_archives import (  # noqa: F401 (disposable_root is a fixture)
    Entry,
    all_files,
    assert_nothing_prepared,
    disposable_root,
    jpeg_rgb,
    require_meta,
    run_cli,
    trust_fixture_files,
    truncated_copy,
    write_zip,
)
from fixtures_cub import GRAYSCALE_IDS, MINI_IDS, build_cub_tgz, cub_full_tgz, cub_mini_tgz, mini_counts  # noqa: F401

from daml_cli.data import sources
from daml_cli.data.images import load_rgb
from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers import cub as cub_module
from daml_cli.data.preparers.base import ExpectedCounts


@pytest.fixture
def mini_expected(monkeypatch) -> ExpectedCounts:
    """Make `daml prepare cub` expect the mini archive's counts (computed from the real label table)."""
    counts = mini_counts()
    expected = ExpectedCounts(
        images={s: n for s, (n, _) in counts.items()}, classes={s: c for s, (_, c) in counts.items()}
    )
    monkeypatch.setattr(cub_module, "EXPECTED", expected)
    return expected


def _prepare(root: Path, *archives: Path, extra: tuple[str, ...] = (), capsys=None) -> tuple[int, str, str]:
    argv = ["prepare", "cub", str(root)]
    for archive in archives:
        argv += ["--archive", str(archive)]
    return run_cli(argv + list(extra), capsys)


def test_full_size_archive_gives_the_standard_split(cub_full_tgz, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_full_tgz})
    started = time.perf_counter()
    code, out, err = _prepare(disposable_root, cub_full_tgz, capsys=capsys)
    elapsed = time.perf_counter() - started
    assert code == 0, err
    print(f"prepare cub (full-size fixture, 11,788 images): {elapsed:.1f} s")
    manifest = read_manifest(disposable_root / "cub")
    train, test = manifest.split("train"), manifest.split("test")
    assert (len(train), len(test)) == (5864, 5924)
    assert {r.label for r in train} == set(range(1, 101)) and {r.label for r in test} == set(range(101, 201))
    assert all(manifest.absolute(row).is_file() for row in manifest.rows)
    first = manifest.rows[0]
    assert (first.path, first.label, first.class_name) == (
        "images/001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg", 1, "Black_footed_Albatross")
    gray = next(r for r in manifest.rows if r.path.endswith("Brewer_Blackbird_0028_2682.jpg"))
    assert load_rgb(manifest.absolute(gray)).mode == "RGB"
    dataset = disposable_root / "cub"
    assert not (dataset / "_sources").exists() and (dataset / "metadata" / "images.txt").is_file()
    assert "5,864" in out and "5,924" in out


def test_mini_archive_counts_and_renamed_file(cub_mini_tgz, tmp_path, monkeypatch, capsys, mini_expected):
    renamed = tmp_path / "birds-download.tar.gz"  # recognised by its CUB_200_2011/ folder, not by its name
    renamed.write_bytes(cub_mini_tgz.read_bytes())
    trust_fixture_files(monkeypatch, "cub", {"archive": renamed})
    code, _, err = _prepare(tmp_path / "root", renamed, capsys=capsys)
    assert code == 0, err
    manifest = read_manifest(tmp_path / "root" / "cub")
    assert len(manifest.rows) == len(MINI_IDS)
    assert {r.label for r in manifest.split("train")} == {1, 2, 9}
    assert {r.label for r in manifest.split("test")} == {101, 102}
    gray = next(r for r in manifest.rows if r.label == 9)  # image id 448, stored as an "L" JPEG
    assert 448 in GRAYSCALE_IDS
    with Image.open(manifest.absolute(gray)) as stored:
        assert stored.mode == "L"
    assert load_rgb(manifest.absolute(gray)).mode == "RGB"


def test_count_mismatch_names_both_numbers(cub_mini_tgz, tmp_path, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    code, _, err = _prepare(tmp_path / "root", cub_mini_tgz, capsys=capsys)
    train_images = mini_counts()["train"][0]
    assert code == 2
    assert f"train has {train_images} images, expected 5,864" in err
    assert_nothing_prepared(tmp_path / "root", "cub")


def test_second_run_does_nothing_and_force_redoes(cub_mini_tgz, tmp_path, monkeypatch, capsys, mini_expected):
    archive = tmp_path / "CUB_200_2011.tgz"
    archive.write_bytes(cub_mini_tgz.read_bytes())
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    root = tmp_path / "root"
    assert _prepare(root, archive, capsys=capsys)[0] == 0
    manifest = root / "cub" / "manifest.csv"
    stamp = manifest.stat().st_mtime_ns
    archive.unlink()  # a skipped run must not even look at its sources
    code, out, _ = _prepare(root, archive, capsys=capsys)
    assert code == 0 and "already prepared" in out and manifest.stat().st_mtime_ns == stamp
    archive.write_bytes(cub_mini_tgz.read_bytes())
    code, out, _ = _prepare(root, archive, extra=("--force",), capsys=capsys)
    assert code == 0 and "already prepared" not in out and manifest.stat().st_mtime_ns != stamp


def test_validation_classes_are_carved_from_training(cub_mini_tgz, tmp_path, monkeypatch, capsys, mini_expected):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    code, _, err = _prepare(tmp_path / "root", cub_mini_tgz, extra=("--val-classes", "1"), capsys=capsys)
    assert code == 0, err
    manifest = read_manifest(tmp_path / "root" / "cub")
    train = {r.label for r in manifest.split("train")}
    val = {r.label for r in manifest.split("val")}
    assert len(val) == 1 and len(train) == 2 and (train | val) == {1, 2, 9}
    assert {r.label for r in manifest.split("test")} == {101, 102}


def test_check_images_and_resize(cub_mini_tgz, tmp_path, monkeypatch, capsys, mini_expected):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    code, _, err = _prepare(tmp_path / "root", cub_mini_tgz, extra=("--check-images", "--resize", "4"), capsys=capsys)
    assert code == 0, err
    dataset = tmp_path / "root" / "cub"
    resized = [p for p in dataset.iterdir() if p.name.startswith("resized-")]
    assert len(resized) == 1 and len(list(resized[0].rglob("*.jpg"))) == len(MINI_IDS)


def test_check_images_reports_an_unreadable_image_by_path(tmp_path, monkeypatch, capsys, mini_expected):
    broken_name = "Black_Footed_Albatross_0009_34.jpg"  # id 2
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, omit={
        f"CUB_200_2011/images/001.Black_footed_Albatross/{broken_name}"},
        extra=[Entry(f"CUB_200_2011/images/001.Black_footed_Albatross/{broken_name}", jpeg_rgb()[:40])])
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    code, _, err = _prepare(tmp_path / "root", archive, extra=("--check-images",), capsys=capsys)
    assert code == 2 and broken_name in err and "cannot be read" in err
    assert_nothing_prepared(tmp_path / "root", "cub")


def test_skip_checksum_warns_and_accepts_a_repacked_archive(cub_mini_tgz, tmp_path, capsys, mini_expected):
    code, _, err = _prepare(tmp_path / "root", cub_mini_tgz, extra=("--skip-checksum",), capsys=capsys)
    assert code == 0, err
    assert "not verifying the checksum" in err


# --- hostile and broken input: refused, exit 2, nothing written outside ROOT, no manifest ---

def _hostile(tmp_path: Path, monkeypatch, capsys, archive: Path, *flags: str) -> str:
    root = tmp_path / "root"
    before = all_files(tmp_path)
    code, _, err = _prepare(root, archive, extra=flags, capsys=capsys)
    assert code == 2, err
    errors = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0]
    assert_nothing_prepared(root, "cub")
    after = {p for p in all_files(tmp_path) if not p.startswith("root")}
    assert after == {p for p in before if not p.startswith("root")}
    assert all_files(root) == set() if root.exists() else True
    return err


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (Entry("CUB_200_2011/../../../../../escaped.txt", b"x"), "contains '..'"),
        (Entry("../escaped.txt", b"x"), "contains '..'"),
        (Entry("/tmp/daml-absolute-escape.txt", b"x"), "absolute path"),
        (Entry("CUB_200_2011/images/link.jpg", kind="symlink", target="/etc/passwd"), "is a link"),
        (Entry("CUB_200_2011/images/hard.jpg", kind="hardlink", target="CUB_200_2011/README"), "is a link"),
        (Entry("CUB_200_2011/dev", kind="chr"), "device"),
    ],
)
def test_hostile_members_are_refused(member, words, tmp_path, monkeypatch, capsys):
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, extra=[member])
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    err = _hostile(tmp_path, monkeypatch, capsys, archive)
    assert words in err and member.name in err
    assert not Path("/tmp/daml-absolute-escape.txt").exists()


def test_wrong_checksum_is_refused(cub_mini_tgz, tmp_path, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    entry = sources.SOURCES["cub"]
    wrong = dataclasses.replace(entry.files[0], sha256="0" * 64)
    monkeypatch.setitem(sources.SOURCES, "cub", dataclasses.replace(entry, files=(wrong,)))
    err = _hostile(tmp_path, monkeypatch, capsys, cub_mini_tgz)
    assert "checksum mismatch" in err and "0" * 64 in err and "--skip-checksum" in err


def test_published_checksum_rejects_the_fixture(cub_mini_tgz, tmp_path, monkeypatch, capsys):
    err = _hostile(tmp_path, monkeypatch, capsys, cub_mini_tgz)  # real registry: size 1,150,585,339
    assert "1,150,585,339" in err


def test_truncated_archive_is_refused(cub_full_tgz, tmp_path, monkeypatch, capsys):
    archive = truncated_copy(cub_full_tgz, tmp_path / "CUB_200_2011.tgz", 0.6)
    err = _hostile(tmp_path, monkeypatch, capsys, archive, "--skip-checksum")
    assert "truncated or corrupt" in err
    err = _hostile(tmp_path, monkeypatch, capsys, archive)  # with verification: caught before extraction
    assert "bytes" in err and "published" in err


def test_missing_metadata_file_is_refused(tmp_path, monkeypatch, capsys):
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, omit={"CUB_200_2011/image_class_labels.txt"})
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    err = _hostile(tmp_path, monkeypatch, capsys, archive)
    assert "has no image_class_labels.txt" in err


def test_missing_image_is_refused_by_name(tmp_path, monkeypatch, capsys):
    table = require_meta("cub", "CUB_200_2011", "images.txt").read_text().splitlines()
    relative = next(line.split()[1] for line in table if line.split()[0] == "5865")  # first image of class 101
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, omit={f"CUB_200_2011/images/{relative}"})
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    err = _hostile(tmp_path, monkeypatch, capsys, archive)
    assert "1 image(s) listed in the metadata are missing" in err and relative in err


def test_mismatched_id_tables_are_refused(tmp_path, monkeypatch, capsys):
    archive = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, extra=[
        Entry("CUB_200_2011/image_class_labels.txt", b"1 1\n2 1\n")])  # a later member replaces the table
    trust_fixture_files(monkeypatch, "cub", {"archive": archive})
    err = _hostile(tmp_path, monkeypatch, capsys, archive)
    assert "different image ids" in err


def test_archive_of_another_dataset_is_refused(tmp_path, monkeypatch, capsys):
    sop_like = write_zip(tmp_path / "Stanford_Online_Products.zip", [
        Entry("Stanford_Online_Products/Ebay_train.txt", b"image_id class_id super_class_id path\n")])
    err = _hostile(tmp_path, monkeypatch, capsys, sop_like)
    assert "is not one of the CUB-200-2011 files" in err and "daml prepare sop" in err
    disguised = tmp_path / "CUB_200_2011.tgz"  # right name, wrong content
    disguised.write_bytes(sop_like.read_bytes())
    err = _hostile(tmp_path, monkeypatch, capsys, disguised, "--skip-checksum")
    assert "named like CUB_200_2011.tgz but contains no CUB_200_2011/" in err


def test_archive_larger_than_the_limit_is_refused(cub_mini_tgz, tmp_path, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz}, max_unpacked_bytes=10_000)
    err = _hostile(tmp_path, monkeypatch, capsys, cub_mini_tgz)
    assert "expands to more than 10,000 bytes" in err


def test_missing_archive_path_is_refused(tmp_path, monkeypatch, capsys):
    err = _hostile(tmp_path, monkeypatch, capsys, tmp_path / "nowhere.tgz")
    assert "does not exist" in err



def test_interrupted_prepare_leaves_no_half_dataset(cub_mini_tgz, tmp_path, monkeypatch, mini_expected):
    from daml_cli.data import extract
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset

    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    real_copy, calls = extract._copy, []

    def interrupted(source, target, size):
        calls.append(target)
        if len(calls) == 6:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the extraction
        real_copy(source, target, size)

    monkeypatch.setattr(extract, "_copy", interrupted)
    root = tmp_path / "root"
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("cub", root, PrepareOptions(archives=[cub_mini_tgz]))
    assert len(calls) == 6
    assert_nothing_prepared(root, "cub")
    assert all_files(root) == set()


def test_failed_force_keeps_the_previous_dataset(cub_mini_tgz, tmp_path, monkeypatch, capsys, mini_expected):
    trust_fixture_files(monkeypatch, "cub", {"archive": cub_mini_tgz})
    root = tmp_path / "root"
    assert _prepare(root, cub_mini_tgz, capsys=capsys)[0] == 0
    before = (root / "cub" / "manifest.csv").read_bytes()
    hostile = build_cub_tgz(tmp_path / "CUB_200_2011.tgz", MINI_IDS, extra=[Entry("../../evil.txt", b"x")])
    code, _, err = _prepare(root, hostile, extra=("--force", "--skip-checksum"), capsys=capsys)
    assert code == 2 and "contains '..'" in err
    assert (root / "cub" / "manifest.csv").read_bytes() == before
    assert read_manifest(root / "cub").rows and not [p for p in root.iterdir() if p.name.startswith(".cub.")]


def test_engine_warnings_go_through_the_callback_not_the_terminal(cub_mini_tgz, tmp_path, capsys, mini_expected):
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset

    heard: list[str] = []
    options = PrepareOptions(archives=[cub_mini_tgz], skip_checksum=True, warn=heard.append)
    prepare_dataset("cub", tmp_path / "root", options)
    assert any("not verifying the checksum" in message for message in heard)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # the data layer itself prints nothing

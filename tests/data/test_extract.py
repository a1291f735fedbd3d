"""Safe extraction: good archives unpack exactly; every hostile or broken one is refused and leaves nothing."""

from __future__ import annotations

import pytest
from fixtures_archives import Entry, all_files, file, folder, truncated_copy, write_tar, write_zip

from daml_cli.data.extract import (
    CorruptArchiveError,
    ExtractLimits,
    UnsafeArchiveError,
    archive_format,
    list_member_names,
    safe_extract,
    safe_member_name,
)
from daml_cli.errors import DataError

LIMITS = ExtractLimits(max_bytes=10_000_000, max_members=1_000)
GOOD = [folder("top"), file("top/a.txt", b"alpha"), folder("top/sub"), file("top/sub/b.bin", bytes(range(256)) * 40)]


@pytest.mark.parametrize("writer", [write_tar, write_zip], ids=["tgz", "zip"])
def test_good_archive_is_extracted_exactly(writer, tmp_path):
    archive = writer(tmp_path / "good.archive", [*GOOD, file("./top/./c.txt", b"dotted")])
    dest = safe_extract(archive, tmp_path / "out", LIMITS)
    assert all_files(dest) == {"top", "top/a.txt", "top/sub", "top/sub/b.bin", "top/c.txt"}
    assert (dest / "top/sub/b.bin").read_bytes() == bytes(range(256)) * 40
    assert (dest / "top/c.txt").read_bytes() == b"dotted"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_format_is_judged_by_content_not_suffix(tmp_path):
    tar = write_tar(tmp_path / "looks.zip", GOOD)
    plain = write_tar(tmp_path / "plain.tar", GOOD, compression="")
    zipped = write_zip(tmp_path / "looks.tgz", GOOD)
    (tmp_path / "text.tgz").write_text("not an archive")
    assert (archive_format(tar), archive_format(plain), archive_format(zipped)) == ("tar", "tar", "zip")
    assert archive_format(tmp_path / "text.tgz") is None
    assert list_member_names(tar, limit=2) == ["top", "top/a.txt"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a/b.jpg", "a/b.jpg"), ("./a//b.jpg", "a/b.jpg"), ("a/./b/", "a/b"), ("./", None), ("a\\b.jpg", "a/b.jpg")],
)
def test_member_names_are_normalised(name, expected):
    assert safe_member_name(name) == expected


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "\\evil", "C:/Windows/x", "../x", "a/../../x", "a/..", "a\\..\\x", "a\x00b"]
)
def test_unsafe_member_names_are_rejected(name):
    with pytest.raises(ValueError):
        safe_member_name(name)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (Entry("../escaped.txt", b"x"), "contains '..'"),
        (Entry("top/../../escaped.txt", b"x"), "contains '..'"),
        (Entry("/tmp/daml-extract-absolute.txt", b"x"), "absolute path"),
        (Entry("top/link", kind="symlink", target="../../outside"), "is a link"),
        (Entry("top/hard", kind="hardlink", target="top/a.txt"), "is a link"),
        (Entry("top/tty", kind="chr"), "device"),
        (Entry("top/pipe", kind="fifo"), "device"),
    ],
)
def test_hostile_tar_members_are_refused_and_nothing_is_left(entry, words, tmp_path):
    archive = write_tar(tmp_path / "hostile.tgz", [*GOOD, entry])
    before = all_files(tmp_path)
    with pytest.raises(UnsafeArchiveError, match=words):
        safe_extract(archive, tmp_path / "out", LIMITS)
    assert all_files(tmp_path) == before


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (Entry("../escaped.txt", b"x"), "contains '..'"),
        (Entry("/tmp/daml-extract-absolute.txt", b"x"), "absolute path"),
        (Entry("top/link", kind="symlink", target="/etc/passwd"), "symbolic link"),
    ],
)
def test_hostile_zip_members_are_refused_before_anything_is_written(entry, words, tmp_path):
    archive = write_zip(tmp_path / "hostile.zip", [*GOOD, entry])
    before = all_files(tmp_path)
    with pytest.raises(UnsafeArchiveError, match=words):
        safe_extract(archive, tmp_path / "out", LIMITS)
    assert all_files(tmp_path) == before


@pytest.mark.parametrize("writer", [write_tar, write_zip], ids=["tgz", "zip"])
def test_archives_beyond_the_limits_are_refused(writer, tmp_path):
    archive = writer(tmp_path / "big.archive", [file(f"top/{i}.bin", bytes(1000)) for i in range(20)])
    with pytest.raises(UnsafeArchiveError, match="expands to more than 15,000 bytes"):
        safe_extract(archive, tmp_path / "out", ExtractLimits(max_bytes=15_000, max_members=1_000))
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        safe_extract(archive, tmp_path / "out", ExtractLimits(max_bytes=10**9, max_members=10))
    assert not (tmp_path / "out").exists()


def test_truncated_tar_is_reported_as_corrupt(tmp_path):
    entries = [folder("top"), *(file(f"top/{i}.bin", bytes([i % 251]) * 3000) for i in range(200))]
    archive = truncated_copy(write_tar(tmp_path / "full.tgz", entries), tmp_path / "cut.tgz", 0.5)
    with pytest.raises(CorruptArchiveError, match="truncated or corrupt"):
        safe_extract(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_truncated_zip_is_not_an_archive(tmp_path):
    archive = truncated_copy(write_zip(tmp_path / "full.zip", GOOD), tmp_path / "cut.zip", 0.7)
    with pytest.raises(DataError, match="not a readable tar or zip archive"):
        safe_extract(archive, tmp_path / "out", LIMITS)


def test_corrupted_zip_member_is_reported(tmp_path):
    archive = write_zip(tmp_path / "good.zip", GOOD)
    data = bytearray(archive.read_bytes())
    offset = data.index(b"alpha")
    data[offset : offset + 5] = b"ALPHA"  # same size, wrong CRC
    archive.write_bytes(bytes(data))
    with pytest.raises(CorruptArchiveError, match="Bad CRC-32"):
        safe_extract(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_existing_destination_is_not_overwritten(tmp_path):
    archive = write_zip(tmp_path / "good.zip", GOOD)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="already exists"):
        safe_extract(archive, tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_macos_resource_forks_are_skipped(tmp_path):
    archive = write_zip(tmp_path / "mac.zip", [*GOOD, file("__MACOSX/top/._a.txt", b"fork")])
    dest = safe_extract(archive, tmp_path / "out", LIMITS)
    assert not (dest / "__MACOSX").exists()


def test_encrypted_zip_member_is_refused_with_advice(tmp_path):
    archive = write_zip(tmp_path / "secret.zip", GOOD)
    data = bytearray(archive.read_bytes())
    # Set the "encrypted" bit (general purpose flag bit 0) in every local and central header.
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + flag_offset] |= 0x01
            start += 4
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError, match="password-protected"):
        safe_extract(archive, tmp_path / "out", LIMITS)

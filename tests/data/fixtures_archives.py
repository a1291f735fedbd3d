"""Building blocks for dataset fixtures: tiny JPEGs, tar/zip writers (hostile members too), registry overrides.

Fixture archives are built at test time from the real metadata in ``../shared/datasets-meta`` plus one tiny
generated JPEG written at every listed path (the same bytes each time, so even 120k images build quickly).
"""

from __future__ import annotations

from tests.cli_runner import run_cli  # noqa: F401 (re-exported for the dataset tests)

import dataclasses
import functools
import hashlib
import io
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.data import sources

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
META = SHARED / "datasets-meta"


def require_meta(*parts: str) -> Path:
    """Path inside ``shared/datasets-meta``; skips the test (with the reason) when it is not there."""
    path = META.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset metadata not available: {path} (needs ../shared/datasets-meta)")
    return path


def _jpeg(mode: str, colour) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 6), colour).save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


@functools.cache
def jpeg_rgb() -> bytes:
    return _jpeg("RGB", (180, 40, 30))


@functools.cache
def jpeg_gray() -> bytes:
    return _jpeg("L", 120)


@functools.cache
def jpeg_cmyk() -> bytes:
    return _jpeg("CMYK", (10, 200, 30, 5))


@dataclass(frozen=True)
class Entry:
    """One archive member: a file (data), a folder, or a hostile kind (symlink, hardlink, chr, fifo)."""

    name: str
    data: bytes | None = None
    kind: str = "file"  # file, dir, symlink, hardlink, chr, fifo
    target: str = ""


def file(name: str, data: bytes) -> Entry:
    return Entry(name, data)


def folder(name: str) -> Entry:
    return Entry(name.rstrip("/") + "/", kind="dir")


_TAR_TYPES = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
              "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}


def write_tar(path: Path, entries: Iterable[Entry], compression: str = "gz") -> Path:
    """A tar archive (gzip by default, fast level) with exactly these members, in this order."""
    mode = f"w:{compression}" if compression else "w"
    kwargs = {"compresslevel": 1} if compression == "gz" else {}
    now = int(time.time())
    with tarfile.open(path, mode, **kwargs) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mtime = now
            if entry.kind == "file":
                info.size = len(entry.data or b"")
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(entry.data or b""))
            else:
                info.type = _TAR_TYPES[entry.kind]
                info.mode = 0o755 if entry.kind == "dir" else 0o644
                info.linkname = entry.target
                tar.addfile(info)
    return path


def write_zip(path: Path, entries: Iterable[Entry]) -> Path:
    """A zip archive (stored, no compression: fastest for JPEGs) with these members, in this order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=(2020, 1, 1, 0, 0, 0))
            if entry.kind == "file":
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, entry.data or b"")
            elif entry.kind == "dir":
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                archive.writestr(info, b"")
            elif entry.kind == "symlink":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, entry.target.encode())
            else:
                raise ValueError(f"zip fixtures cannot hold a {entry.kind}")
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def truncated_copy(path: Path, dest: Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of the bytes of `path`, as an interrupted download would leave them."""
    data = path.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def trust_fixture_files(monkeypatch, dataset: str, files: dict[str, Path], **changes) -> None:
    """Make the source registry publish the fixtures' own sha256 and size (and any other `changes`)."""
    entry = sources.SOURCES[dataset]
    replaced = []
    for source in entry.files:
        if source.key in files:
            path = files[source.key]
            source = dataclasses.replace(source, sha256=sha256_of(path), md5=None, size=path.stat().st_size)
        replaced.append(source)
    monkeypatch.setitem(sources.SOURCES, dataset, dataclasses.replace(entry, files=tuple(replaced), **changes))


def prepare_archives(name: str, root: Path, archives, *flags: str, capsys) -> tuple[int, str, str]:
    """`daml prepare NAME ROOT --archive A ...` in-process; (exit code, stdout, stderr)."""
    argv = ["prepare", name, str(root)]
    for path in archives:
        argv += ["--archive", str(path)]
    return run_cli(argv + list(flags), capsys)


def assert_refused(tmp_path: Path, name: str, archives, *flags: str, capsys) -> str:
    """Prepare into tmp_path/root must fail with one error line, leave nothing, and touch nothing else."""
    root = tmp_path / "root"
    before = {p for p in all_files(tmp_path) if not p.startswith("root")}
    code, _, err = prepare_archives(name, root, archives, *flags, capsys=capsys)
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert_nothing_prepared(root, name)
    assert {p for p in all_files(tmp_path) if not p.startswith("root")} == before
    return err


def all_files(folder: Path) -> set[str]:
    """Every path below `folder` (files, links and folders), relative, for before/after comparisons."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def assert_nothing_prepared(root: Path, name: str) -> None:
    """After a refused prepare: no dataset folder, no staging folder, no manifest anywhere under ROOT."""
    assert not (root / name).exists()
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(f".{name}.")] if root.exists() else []
    assert leftovers == []
    assert list(root.rglob("manifest.csv")) == [] if root.exists() else True


def _memory_scratch() -> Path | None:
    """/dev/shm when it is a writable tmpfs with room to spare: 10k-170k tiny files are created and deleted
    there several times faster than on disk, and without competing for the disk with other work."""
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 * 1024**3:
            return shm
    except OSError:
        pass
    return None


@pytest.fixture
def disposable_root(tmp_path) -> Iterator[Path]:
    """A fresh ROOT for a full-size prepare, deleted after the test (in memory when /dev/shm allows).

    Full-size datasets are 10k-170k files that pytest would otherwise keep on disk for a later session to
    delete; creating and deleting them dominates those tests' time.
    """
    scratch = _memory_scratch()
    base = Path(tempfile.mkdtemp(prefix="daml-test-", dir=scratch)) if scratch else tmp_path
    root = base / "root"
    try:
        yield root
    finally:
        shutil.rmtree(base if scratch else root, ignore_errors=True)

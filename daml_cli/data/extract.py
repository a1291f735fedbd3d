"""Safe extraction of tar (any compression) and zip archives into a folder that appears only when complete.

Every member is checked before anything is written: absolute names, ``..`` components, links (symbolic or
hard), devices, FIFOs and encrypted zip entries are refused, as is an archive whose members add up to more
than `max_bytes` or `max_members`. Files are written by this module (never by ``tarfile.extractall``), only
as regular files and folders below the target. Extraction goes into a temporary folder beside `dest` that is
renamed onto `dest` at the end, so an interrupted or refused extraction leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from daml_cli.atomic import atomic_directory
from daml_cli.data.progress import ByteProgress, silent_progress
from daml_cli.errors import DataError
from daml_cli.safety.terminal import quote

_SKIPPED_PREFIXES = ("__MACOSX/",)  # macOS resource-fork folders in re-packed zips: never needed


class UnsafeArchiveError(DataError):
    """The archive contains a member that must not be extracted, or is far larger than the dataset can be."""


class CorruptArchiveError(DataError):
    """The archive cannot be read to the end (truncated download, wrong format)."""


@dataclass(frozen=True)
class ExtractLimits:
    """Upper bounds on what one archive may expand to."""

    max_bytes: int
    max_members: int


def archive_format(path: Path) -> str | None:
    """'zip' or 'tar' judged by content (not by suffix), None for anything else."""
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (OSError, EOFError, zlib.error):
        return None
    return None


def safe_member_name(name: str) -> str | None:
    """The relative path a member may be written to, None for the archive root, or a ValueError saying why not.

    Rules: no leading '/' or drive letter, no '..' component, no NUL; '.' components, repeated and trailing
    '/' are dropped; a backslash counts as a separator (archives made on Windows).
    """
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        raise ValueError("has an absolute path")
    if "\x00" in name:
        raise ValueError("contains a NUL character")
    parts = [part for part in name.replace("\\", "/").split("/") if part and part != "."]
    if ".." in parts:
        raise ValueError("contains '..'")
    return "/".join(parts) if parts else None


def _refuse(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"archive {archive.name}: member {quote(name, 200)} {why}; refusing to extract it",
        "the archive is damaged or not the published one; download it again from the official source",
    )


@dataclass(frozen=True)
class _Member:
    name: str  # normalised relative path, '/'-separated
    is_dir: bool
    size: int
    handle: object  # TarInfo or ZipInfo


def _tar_members(archive: Path, tar: tarfile.TarFile) -> Iterator[_Member]:
    for info in tar:
        try:
            name = safe_member_name(info.name)
        except ValueError as error:
            raise _refuse(archive, info.name, str(error)) from None
        if info.issym() or info.islnk():
            raise _refuse(archive, info.name, f"is a link to '{info.linkname}'")
        if not (info.isreg() or info.isdir()):
            raise _refuse(archive, info.name, "is a device, FIFO or other special file")
        if name is not None:
            yield _Member(name, info.isdir(), 0 if info.isdir() else info.size, info)


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        try:
            name = safe_member_name(info.filename)
        except ValueError as error:
            raise _refuse(archive, info.filename, str(error)) from None
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _refuse(archive, info.filename, "is a symbolic link")
        if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _refuse(archive, info.filename, "is a device, FIFO or other special file")
        if info.flag_bits & 0x1:
            raise DataError(
                f"archive {archive.name} is password-protected ({info.filename})",
                "unpack it with its password and re-pack it without one, then pass it with --archive "
                "and --skip-checksum",
            )
        if name is not None and not info.filename.startswith(_SKIPPED_PREFIXES):
            yield _Member(name, info.is_dir(), 0 if info.is_dir() else info.file_size, info)


def _corrupt(archive: Path, error: BaseException) -> CorruptArchiveError:
    return CorruptArchiveError(
        f"archive {archive.name} is truncated or corrupt ({type(error).__name__}: {error})",
        "download it again (a partial download cannot be extracted)",
    )


def _copy(source: IO[bytes], target: str, size: int) -> None:
    with open(target, "wb") as out:
        if size <= 4 * 1024 * 1024:
            out.write(source.read())
        else:
            shutil.copyfileobj(source, out, 1024 * 1024)


def _write_members(archive: Path, members: Iterator[_Member], open_member, root: Path, limits: ExtractLimits,
                   advance) -> int:
    """Write each member below `root`, enforcing `limits` on the running totals; returns the member count.

    Plain `os.path` strings are used on purpose: this loop runs once per image (120k times for SOP).
    """
    total_bytes = 0
    count = 0
    base = os.path.realpath(root)
    made: set[str] = {base}
    for member in members:
        count += 1
        total_bytes += member.size
        if count > limits.max_members:
            raise UnsafeArchiveError(
                f"archive {archive.name} has more than {limits.max_members:,} members; refusing to extract it",
                "this is not the expected dataset archive",
            )
        if total_bytes > limits.max_bytes:
            raise UnsafeArchiveError(
                f"archive {archive.name} expands to more than {limits.max_bytes:,} bytes; refusing to extract it",
                "this is not the expected dataset archive (or a decompression bomb)",
            )
        target = os.path.join(base, *member.name.split("/"))
        folder = target if member.is_dir else os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            real = os.path.realpath(folder)  # defence in depth: names were checked and no links are ever made
            if real != base and not real.startswith(base + os.sep):
                raise _refuse(archive, member.name, "points outside the target folder")
            made.add(folder)
        if not member.is_dir:
            if target in made:
                raise _refuse(archive, member.name, "is both a folder and a file")
            with open_member(member.handle) as source:
                _copy(source, target, member.size)
        advance(member)
    return count


def safe_extract(
    archive: Path | str, dest: Path | str, limits: ExtractLimits, progress: ByteProgress = silent_progress
) -> Path:
    """Extract `archive` (tar or zip, judged by content) into `dest`, which must not exist yet; returns `dest`.

    Raises UnsafeArchiveError for a refused member or size, CorruptArchiveError for an unreadable archive and
    DataError for anything that is not an archive. On any error `dest` is not created.
    """

    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        raise DataError(f"cannot extract {archive.name}: {dest} already exists")
    kind = archive_format(archive)
    if kind is None:
        raise DataError(
            f"{archive} is not a readable tar or zip archive",
            "pass the archive file itself; a truncated download cannot be read, download it again",
        )
    with atomic_directory(dest) as staging, progress(f"extracting {archive.name}", None) as bar:
        try:
            if kind == "zip":
                with zipfile.ZipFile(archive) as zf:
                    infos = list(_zip_members(archive, zf))  # everything is checked before anything is written
                    bar.reset(total=sum(m.size for m in infos))
                    _write_members(archive, iter(infos), zf.open, staging, limits, lambda m: bar.advance(m.size))
            else:
                with open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
                    bar.reset(total=archive.stat().st_size)  # compressed bytes consumed, the only known total
                    _write_members(archive, _tar_members(archive, tar), tar.extractfile, staging, limits,
                                   lambda m: bar.set(raw.tell()))
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
            if isinstance(error, OSError) and error.errno is not None:  # disk full, permissions: not the archive
                raise DataError(f"cannot extract {archive.name} into {dest.parent}: {error.strerror}") from None
            raise _corrupt(archive, error) from None
    return dest


def list_member_names(archive: Path, limit: int | None = None) -> list[str]:
    """Names of the first `limit` members (all for None), for recognising an archive; errors as DataError."""
    kind = archive_format(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
                return names if limit is None else names[:limit]
        if kind == "tar":
            names = []
            with tarfile.open(archive, mode="r:*") as tar:
                for info in tar:
                    names.append(info.name)
                    if limit is not None and len(names) >= limit:
                        break
            return names
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise _corrupt(archive, error) from None
    raise DataError(f"{archive} is not a tar or zip archive")

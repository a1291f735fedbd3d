"""Getting a dataset's source files: the user's local archives (`--archive`) or downloads, verified.

Both `from_archives` and `from_downloads` return one complete layout (see `sources.Layout`) with a verified
local path per file:
- `from_archives`: local files are recognised by content (archives: a marker folder among their members)
  or by name (plain files), and checked against the published size and checksum (`skip_checksum` skips
  that with a warning, for re-packed archives); a file of another dataset is refused, naming the dataset
  it belongs to when it is a known one;
- `from_downloads`: files already in `download_dir` are used as they are; otherwise the layouts are
  downloaded in order of preference, each file from its mirrors; when none can be fetched, the error says
  exactly which files to download by hand and how to pass them.
`unpack` then extracts the archives of the layout (safely) and copies its plain files into a folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from daml_cli.data import sources as source_registry
from daml_cli.data.checksum import check_file
from daml_cli.data.download import DownloadError, RetryPolicy, download, verified_file
from daml_cli.data.extract import ExtractLimits, archive_format, list_member_names, safe_extract
from daml_cli.data.progress import ByteProgress, Warn, python_warning, silent_progress
from daml_cli.data.sources import DatasetSources, Layout, SourceFile
from daml_cli.errors import DataError
from daml_cli.safety.files import require_regular_file

_PROBE_MEMBERS = 200  # members read from a tar to recognise it (zip directories are read whole)


@dataclass(frozen=True)
class Acquired:
    """A complete layout and the verified local path of each of its files (by key)."""

    layout: Layout
    paths: dict[str, Path]


def _describe(source: SourceFile) -> str:
    facts = []
    if source.size:
        facts.append(f"{source.size:,} bytes")
    if source.sha256:
        facts.append(f"sha256 {source.sha256}")
    elif source.md5:
        facts.append(f"md5 {source.md5}")
    return f"{source.filename} ({', '.join(facts)})" if facts else source.filename


def _has_marker(names: Sequence[str], source: SourceFile) -> bool:
    """True when a member is, or lies below, one of the file's marker paths (tar lists folders without '/')."""
    cleaned = [name[2:] if name.startswith("./") else name for name in names]
    bare = tuple(marker.rstrip("/") for marker in source.markers)
    return any(name.startswith(source.markers) or name.rstrip("/") in bare for name in cleaned)


def _member_names(path: Path) -> list[str] | None:
    """Member names when `path` is an archive (first few for tar), None for any other file."""
    kind = archive_format(path)
    if kind is None:
        return None
    return list_member_names(path, None if kind == "zip" else _PROBE_MEMBERS)


def identify(dataset: DatasetSources, path: Path) -> SourceFile:
    """Which file of `dataset` the local `path` is; a DataError when it is none of them.

    Archives are recognised by content (a marker folder among their members) even when renamed, and an
    archive whose name matches but whose content does not is refused before anything is extracted.
    Plain files (.mat, .txt) are recognised by name.
    """
    lowered = path.name.lower()
    by_name = next((s for s in dataset.files if lowered in {n.lower() for n in (s.filename, *s.aliases)}), None)
    names = _member_names(path)
    if names is not None:
        for source in dataset.files:
            if source.kind != "file" and source.markers and _has_marker(names, source):
                return source
        if by_name is not None and by_name.kind != "file":
            markers = " or ".join(by_name.markers)
            raise DataError(
                f"{path} is named like {by_name.filename} but contains no {markers}"
                + _belongs_elsewhere(dataset, path, names),
                _expected_files(dataset),
            )
    elif by_name is not None:
        if by_name.kind == "file":
            return by_name
        raise DataError(
            f"{path} is named like {by_name.filename} but is not a readable {by_name.kind} archive",
            "it is truncated or corrupt: download it again",
        )
    raise DataError(
        f"{path} is not one of the {dataset.title} files" + _belongs_elsewhere(dataset, path, names),
        _expected_files(dataset),
    )


def _belongs_elsewhere(dataset: DatasetSources, path: Path, names: list[str] | None) -> str:
    """'; it looks like FILE of DATASET ...' for a file of another known dataset, else its top-level entries."""
    for other in source_registry.SOURCES.values():
        if other.name == dataset.name:
            continue
        for source in other.files:
            same_name = path.name.lower() == source.filename.lower()
            if (names is not None and source.markers and _has_marker(names, source)) or same_name:
                return f"; it looks like {source.filename} of {other.title} (use `daml prepare {other.name}`)"
    top = sorted({n.lstrip("./").split("/", 1)[0] for n in names or [] if n.strip("./")})[:5]
    return f"; its top-level entries are {', '.join(top)}" if top else ""


def _expected_files(dataset: DatasetSources) -> str:
    options = [" + ".join(_describe(dataset.file(key)) for key in layout.files) for layout in dataset.layouts]
    return "expected " + " or ".join(options)


def _verify_local(
    path: Path, source: SourceFile, skip_checksum: bool, progress: ByteProgress = silent_progress,
    warn: Warn = python_warning,
) -> None:
    """Compare the size and checksum of a user's file with the published ones."""
    if skip_checksum:
        warn(f"not verifying the checksum of {path} (--skip-checksum)")
        return
    size = path.stat().st_size
    if source.size is not None and size != source.size:
        raise DataError(
            f"{path} has {size:,} bytes, but the published {source.filename} has {source.size:,}",
            "the file is incomplete or a different version: download it again, or pass --skip-checksum "
            "if you re-packed it yourself",
        )
    with progress(f"verifying {path.name}", size) as bar:
        result = check_file(path, sha256=source.sha256, md5=source.md5, on_bytes=bar.advance)
    if result is None:
        warn(f"no checksum is published for {source.filename}; {path.name} is checked by its content only")
    elif not result.ok:
        raise DataError(
            f"checksum mismatch for {path}: {result.describe()} ({source.filename})",
            "the file is corrupt or a different version: download it again, or pass --skip-checksum "
            "if you re-packed it yourself",
        )


def _complete_layout(dataset: DatasetSources, found: dict[str, Path]) -> Layout:
    for layout in dataset.layouts:
        if all(key in found for key in layout.files):
            return layout
    missing = []
    for layout in dataset.layouts:
        lacking = [dataset.file(key).filename for key in layout.files if key not in found]
        missing.append(f"{layout.description} (missing {', '.join(lacking)})")
    given = ", ".join(path.name for path in found.values())
    raise DataError(
        f"the given files ({given}) do not make up a complete {dataset.title} layout",
        "pass all files of one of: " + "; ".join(missing),
    )


def from_archives(
    dataset: DatasetSources, archives: Sequence[Path], skip_checksum: bool, progress: ByteProgress = silent_progress,
    warn: Warn = python_warning,
) -> Acquired:
    """Recognise and verify the user's local files and pick the layout they complete."""
    found: dict[str, Path] = {}
    for path in (Path(p).expanduser() for p in archives):
        if path.is_dir():
            raise DataError(
                f"--archive {path} is a folder", "pass the downloaded archive file itself, not an extracted folder"
            )
        require_regular_file(path, "--archive")
        source = identify(dataset, path)
        if source.key in found:
            raise DataError(f"{found[source.key]} and {path} are both {source.filename}", "pass each file once")
        found[source.key] = path
    layout = _complete_layout(dataset, found)
    unused = [path.name for key, path in found.items() if key not in layout.files]
    if unused:
        warn(f"using the {layout.description} layout; ignoring {', '.join(unused)}")
    for key in layout.files:
        _verify_local(found[key], dataset.file(key), skip_checksum, progress, warn)
    return Acquired(layout, {key: found[key] for key in layout.files})


def manual_instructions(dataset: DatasetSources, root: Path | None = None, download_dir: Path | None = None) -> str:
    """What to download by hand and how to pass it (one entry per layout), for the error hint."""

    def entry(key: str) -> str:
        source = dataset.file(key)
        return f"{_describe(source)} [{source.where}]" if source.where else _describe(source)

    sets = [" + ".join(entry(key) for key in layout.files) for layout in dataset.layouts]
    what = sets[0] if len(sets) == 1 else "one of: " + " or ".join(f"({n}) {s}" for n, s in enumerate(sets, 1))
    manual = f" ({dataset.manual})" if dataset.manual else ""
    example = " ".join(f"--archive ~/Downloads/{dataset.file(k).filename}" for k in dataset.layouts[0].files)
    where = f", or put the file(s) in {download_dir} and run it again" if download_dir is not None else ""
    return (
        f"download by hand {what}{manual}; then run `daml prepare {dataset.name} {root or 'ROOT'} {example}`"
        f"{where}"
    )


def _placed_by_hand(dataset: DatasetSources, download_dir: Path) -> Acquired | None:
    """A layout whose files all sit, verified, in `download_dir` already (e.g. In-Shop files put there by hand)."""
    for layout in dataset.layouts:
        paths = {key: download_dir / dataset.file(key).filename for key in layout.files}
        if all(path.is_file() for path in paths.values()) and all(
            verified_file(path, dataset.file(key).sha256, dataset.file(key).md5, dataset.file(key).size)
            for key, path in paths.items()
        ):
            return Acquired(layout, paths)
    return None


def from_downloads(dataset: DatasetSources, download_dir: Path, retry: RetryPolicy | None = None,
                   progress: ByteProgress = silent_progress, root: Path | None = None,
                   warn: Warn = python_warning) -> Acquired:
    """Download the first layout whose files can all be fetched (files already in `download_dir` are reused)."""
    placed = _placed_by_hand(dataset, download_dir)
    if placed is not None:
        return placed
    failures: list[str] = []
    for layout in dataset.layouts:
        files = [dataset.file(key) for key in layout.files]
        if not all(source.urls for source in files):
            continue
        paths: dict[str, Path] = {}
        try:
            for source in files:
                paths[source.key] = download(
                    source.urls, download_dir / source.filename, sha256=source.sha256, md5=source.md5,
                    size=source.size, retry=retry, progress=progress,
                )
                if source.sha256 is None and source.md5 is None:
                    warn(f"no checksum is published for {source.filename}; it is checked by its content only")
        except DownloadError as error:
            failures.append(error.message)
            continue
        return Acquired(layout, paths)
    why = "; ".join(failures) if failures else "it has no automatic download"
    raise DataError(f"could not download {dataset.title} ({why})", manual_instructions(dataset, root, download_dir))


def unpack(dataset: DatasetSources, acquired: Acquired, into: Path, progress: ByteProgress = silent_progress) -> dict[str, Path]:
    """Extract each archive of the layout into ``into/<key>`` and copy each plain file to ``into/<filename>``."""
    limits = ExtractLimits(dataset.max_unpacked_bytes, dataset.max_members)
    into.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for key, path in acquired.paths.items():
        source = dataset.file(key)
        if source.kind == "file":
            out[key] = Path(shutil.copyfile(path, into / source.filename))
        else:
            out[key] = safe_extract(path, into / key, limits, progress=progress)
    return out

"""What retrieval knows about its queries: their class (to mark hits right or wrong) and whether a query is
itself a gallery item (so it is not counted as its own hit).

A query's class is known when its file is a gallery item, when its path is in the manifest of the dataset
the gallery came from (a prepared split), or when the user gives it in a ``--query-labels`` CSV file.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from daml_cli.data.checksum import file_sha256
from daml_cli.data.manifest import MANIFEST_NAME, read_manifest
from daml_cli.errors import DataError
from daml_cli.index.metadata import IndexMetadata


@dataclass(frozen=True)
class KnownClass:
    label: int | None
    class_name: str | None


def resolved(path: Path | str) -> Path:
    """An absolute, symlink-free form of `path` used to compare files by location."""
    return Path(path).expanduser().resolve()


def file_digest(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def same_file(query: Path, gallery: Path, query_digest: str | None) -> bool:
    """True when `gallery` is `query`: the same resolved path, or a file with identical bytes."""
    if resolved(query) == resolved(gallery):
        return True
    try:
        if gallery.stat().st_size != query.stat().st_size:
            return False
    except OSError:
        return False
    return query_digest is not None and file_digest(gallery) == query_digest


def manifest_classes(metadata: IndexMetadata) -> dict[Path, KnownClass]:
    """Classes of every manifest image of the gallery's dataset (empty when the gallery has no manifest)."""
    if not metadata.root or not (Path(metadata.root) / MANIFEST_NAME).is_file():
        return {}
    try:
        manifest = read_manifest(metadata.root)
    except DataError:
        return {}
    return {resolved(manifest.absolute(row)): KnownClass(row.label, row.class_name or None) for row in manifest.rows}


def read_query_labels(path: Path, metadata: IndexMetadata) -> dict[Path, KnownClass]:
    """``path,label`` or ``path,class_name`` rows (a header line is optional); paths relative to the file.

    A class name is turned into the gallery's label through the sidecar's class names, so hits can be
    compared with it.
    """
    from daml_cli.safety.files import require_regular_file

    require_regular_file(path, "query labels file", DataError, "give a CSV file of path,label or path,class_name rows")
    names = metadata.names_by_label()
    by_name = {name: label for label, name in names.items()}
    try:
        return _read_labels(path, names, by_name)
    except csv.Error as error:  # e.g. a field over the csv module's 128 KiB limit
        raise DataError(f"query labels file {path} is not a readable CSV file ({error})") from None


def _read_labels(path: Path, names: dict[int, str], by_name: dict[str, int]) -> dict[Path, KnownClass]:
    known: dict[Path, KnownClass] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or not "".join(fields).strip() or fields[0].startswith("#"):
                continue
            if len(fields) < 2:
                raise DataError(f"{path} line {number}: expected path,label or path,class_name")
            image, value = fields[0].strip(), fields[1].strip()
            if number == 1 and image.lower() == "path":
                continue  # header
            image_path = Path(image) if Path(image).is_absolute() else path.parent / image
            if value.lstrip("-").isdigit():
                label = int(value)
                known[resolved(image_path)] = KnownClass(label, names.get(label))
            else:
                known[resolved(image_path)] = KnownClass(by_name.get(value), value)
    return known


def query_classes(
    queries: Sequence[Path], metadata: IndexMetadata, gallery_paths: Sequence[str], labels_file: Path | None = None,
) -> list[KnownClass]:
    """Each query's class: from `labels_file`, else the gallery item it is, else the gallery's manifest."""
    given = read_query_labels(labels_file, metadata) if labels_file is not None else {}
    names = metadata.names_by_label()
    gallery: dict[Path, KnownClass] = {}
    if metadata.labels is not None:
        for path, label in zip(gallery_paths, metadata.labels):
            gallery[resolved(path)] = KnownClass(label, names.get(label))
    keys = [resolved(query) for query in queries]
    manifest = {} if all(key in given or key in gallery for key in keys) else manifest_classes(metadata)
    return [given.get(key) or gallery.get(key) or manifest.get(key) or KnownClass(None, None) for key in keys]

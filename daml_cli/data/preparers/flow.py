"""The shared `daml prepare` flow around every preparer.

    ROOT/NAME exists?  ── verified, same settings ──▶ skip (unless --force)
                       ── anything else ───────────▶ refuse (unless --force)
    staging folder ──preparer.build──▶ rows ──expected counts──▶ val carving ──image check──▶ resize
                   ──manifest.csv──▶ .daml-prepared.json ──▶ moved onto ROOT/NAME in one rename

Because everything is built in a staging folder beside ROOT/NAME (`atomic_directory`), an interrupted or failed
prepare leaves neither a half dataset nor a manifest, and a failed `--force` keeps the old dataset intact.
"""

from __future__ import annotations

import json
from pathlib import Path

from daml_cli.atomic import atomic_directory
from daml_cli.data.manifest import write_manifest
from daml_cli.data.preparers.base import PrepareOptions, PrepareReport, Preparer
from daml_cli.data.preparers.checks import check_expected, check_images, count_rows, split_order
from daml_cli.data.preparers.marker import check_marker, write_marker
from daml_cli.data.preparers.resize import write_resized_copy
from daml_cli.data.validation import carve_validation
from daml_cli.errors import DataError


def get_preparer(name: str) -> Preparer:
    """Instantiate the registered preparer `name`; a DataError listing the known names otherwise."""
    from daml_cli.data.preparers.registry import PREPARERS

    factory = PREPARERS.get(name)
    if factory is None:
        raise DataError(f"unknown dataset '{name}'", f"known datasets: {', '.join(sorted(PREPARERS))}")
    return factory()


def prepare_settings(preparer: Preparer, options: PrepareOptions) -> dict:
    """The settings that change what a prepare produces, as plain JSON values (recorded in the marker).

    The flow's own options (validation classes and their seed, resize) plus whatever the preparer reports
    through an optional ``settings(options) -> dict`` method (e.g. the folder preparer's source paths).
    """
    settings: dict = {"val_classes": options.val_classes, "resize": options.resize}
    if options.val_classes:
        settings["val_seed"] = options.seed
    extra = getattr(preparer, "settings", None)
    if callable(extra):
        settings.update(extra(options))
    return json.loads(json.dumps(settings, default=str))  # normalise (tuples, paths) as the marker stores them


def _existing_dataset(dataset_dir: Path, preparer: Preparer, settings: dict, force: bool) -> PrepareReport | None:
    """A skipped report when `dataset_dir` already holds this exact dataset; raise when it must not be touched."""
    if not dataset_dir.exists():
        return None
    if not dataset_dir.is_dir():
        if force:
            return None
        raise DataError(f"{dataset_dir} exists and is not a folder", "remove it or choose another ROOT")
    if not any(dataset_dir.iterdir()):
        return None  # an empty folder holds nothing to lose
    check = check_marker(dataset_dir, preparer.name, settings)
    if check.matches and not force:
        images, classes = (check.marker or {}).get("images", {}), (check.marker or {}).get("classes", {})
        order = split_order(images)
        return PrepareReport(dataset_dir, {s: images[s] for s in order}, {s: classes.get(s, 0) for s in order}, True)
    if not check.matches and not force:
        raise DataError(
            f"{dataset_dir} already exists and {check.reason}",
            "use --force to replace it (its contents will be deleted), or choose another ROOT",
        )
    return None


def prepare_dataset(
    name: str, root: Path | str, options: PrepareOptions, preparer: Preparer | None = None
) -> PrepareReport:
    """Prepare dataset `name` into ``ROOT/NAME`` (images, manifest.csv, marker) and report the counts.

    Idempotent: a folder already holding this dataset with the same settings is left alone (``skipped=True``)
    unless ``options.force``; any other existing, non-empty folder is refused unless ``options.force``.
    """
    preparer = preparer if preparer is not None else get_preparer(name)
    dataset_dir = Path(root).expanduser() / name
    settings = prepare_settings(preparer, options)
    skipped = _existing_dataset(dataset_dir, preparer, settings, options.force)
    if skipped is not None:
        return skipped
    with atomic_directory(dataset_dir) as staging:
        rows = list(preparer.build(staging, options))
        if not rows:
            raise DataError(f"preparing '{name}' produced no images", "check the source files")
        check_expected(preparer.expected, rows, name)
        rows = carve_validation(rows, options.val_classes, options.seed)
        if options.check_images:
            check_images(staging, rows)
        if options.resize:
            write_resized_copy(staging, rows, options.resize)
        extra_columns = list(dict.fromkeys(column for row in rows for column in row.column_values()))
        write_manifest(staging, rows, extra_columns)
        images, classes = count_rows(rows)
        write_marker(staging, preparer.name, settings, images, classes)
    return PrepareReport(dataset_dir, images, classes, skipped=False)


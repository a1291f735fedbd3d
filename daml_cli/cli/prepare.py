"""`daml prepare NAME ROOT`: build ROOT/NAME/{images, manifest.csv} (thin wrapper over the prepare flow)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from daml_cli.data.preparers.registry import PREPARERS

_NAMES = ", ".join(sorted(PREPARERS))


def _complete_name(incomplete: str) -> list[str]:
    return [name for name in sorted(PREPARERS) if name.startswith(incomplete)]


def prepare(
    name: str = typer.Argument(..., metavar="NAME", help=f"Dataset: {_NAMES}.", autocompletion=_complete_name),
    root: Optional[Path] = typer.Argument(None, metavar="[ROOT]", help="Folder that receives ROOT/NAME (or --data-root)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", metavar="PATH", help="Same as ROOT: the folder holding prepared datasets."),
    source: Optional[Path] = typer.Option(None, help="folder: one subfolder per class; omniglot: folder with the two zips (default ROOT/downloads)."),
    train_dir: Optional[Path] = typer.Option(None, help="folder: training classes (with --test-dir)."),
    test_dir: Optional[Path] = typer.Option(None, help="folder: test classes (with --train-dir)."),
    test_fraction: float = typer.Option(0.5, help="folder --source: share of classes sent to test."),
    seed: int = typer.Option(0, min=0, help="Seed of every random choice (class split, validation classes)."),
    archive: Optional[List[Path]] = typer.Option(None, help="Local archive to use instead of downloading (repeatable)."),
    skip_checksum: bool = typer.Option(False, "--skip-checksum", help="Do not verify archive checksums."),
    force: bool = typer.Option(False, "--force", help="Redo the dataset even if ROOT/NAME exists."),
    val_classes: float = typer.Option(0.0, help="Training classes moved to split 'val': a fraction (<1) or a count."),
    check_images: bool = typer.Option(False, "--check-images", help="Decode every image; report unreadable ones."),
    resize: Optional[int] = typer.Option(None, min=1, max=4096, help="Also write a copy whose shorter side is N pixels."),
    verify: bool = typer.Option(False, "--verify", help="When ROOT/NAME exists, re-hash every image instead of checking sizes."),
) -> None:
    """Prepare a dataset: images plus manifest.csv in ROOT/NAME."""
    from daml_cli.errors import ConfigError

    if root is not None and data_root is not None and root != data_root:
        raise ConfigError(f"ROOT ({root}) and --data-root ({data_root}) name different folders", "give one of them")
    root = root if root is not None else data_root
    if root is None:
        raise ConfigError("no data folder given", f"e.g. daml prepare {name} data  (or --data-root data)")
    from rich.console import Console
    from rich.table import Table

    from daml_cli.cli.progress import byte_progress, print_warning
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset
    from daml_cli.data.progress import silent_progress

    options = PrepareOptions(
        source=source,
        train_dir=train_dir,
        test_dir=test_dir,
        test_fraction=test_fraction,
        seed=seed,
        archives=list(archive or []),
        skip_checksum=skip_checksum,
        force=force,
        val_classes=val_classes,
        check_images=check_images,
        resize=resize,
        verify=verify,
        progress=byte_progress if sys.stderr.isatty() else silent_progress,  # bars only for a person watching
        warn=print_warning,
    )
    report = prepare_dataset(name, root, options)
    from daml_cli.safety.terminal import for_rich

    console = Console()
    table = Table(title=f"{for_rich(name)}: {for_rich(report.dataset_dir)}")
    table.add_column("split")
    table.add_column("images", justify="right")
    table.add_column("classes", justify="right")
    for split, count in report.images.items():
        table.add_row(split, f"{count:,}", f"{report.classes.get(split, 0):,}")
    console.print(table)
    where = for_rich(report.dataset_dir)
    if report.skipped:
        checked = "every image re-hashed" if verify else "every image present with its size; --verify re-hashes them"
        console.print(f"already prepared and verified ({checked}): {where} (use --force to redo it)")
    else:
        console.print(f"prepared {where}")
    if report.skipped_files:
        console.print(f"skipped {report.skipped_files:,} symbolic link(s) leaving the source or special file(s) "
                      "(FIFOs, devices); they were not read")

"""`daml compare`: train several presets on the same seeds and budget, test them, report paired differences."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from daml_cli.errors import ConfigError


def command_line(
    presets: list[str], seeds: str, out: Path, data_root: Path | None, overrides: list[str], set_for: list[str],
    jobs: int, device: str | None,
) -> list[str]:
    """The command, rebuilt from its parsed options (what report.json records to redo the comparison)."""
    words = ["daml", "compare", *presets, "--seeds", seeds, "--out", str(out)]
    words += ["--data-root", str(data_root)] if data_root is not None else []
    words += [w for o in overrides for w in ("--set", o)] + [w for o in set_for for w in ("--set-for", o)]
    words += ["--jobs", str(jobs)] + (["--device", device] if device is not None else [])
    return words


def compare(
    presets: List[str] = typer.Argument(..., help="Presets to compare: PRESET or NAME=PRESET; the first is the reference."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds; every preset is trained on each."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for runs/, report.json, report.md and curves.png."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder holding prepared datasets."),
    overrides: List[str] = typer.Option([], "--set", help="Override for every preset; {seed} becomes the seed."),
    set_for: List[str] = typer.Option([], "--set-for", help="Override for one preset: NAME:key=value."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Trainings at once, each in its own process."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
) -> None:
    """Train every preset for every seed (finished runs are reused), test each best.pt, compare them."""
    from daml_cli.cli.compare_progress import CompareDisplay
    from daml_cli.cli.progress import console
    from daml_cli.compare.plan import parse_seeds
    from daml_cli.compare.study import CompareRequest, compare as run_compare

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file", "give a folder")
    extra: dict[str, object] = {}
    if data_root is not None:
        extra["data.root"] = str(data_root)
    if device is not None:
        extra["device"] = device
    request = CompareRequest(
        presets=list(presets), seeds=parse_seeds(seeds), out=out, overrides=list(overrides), set_for=list(set_for),
        jobs=jobs, extra=extra, command=command_line(presets, seeds, out, data_root, overrides, set_for, jobs, device),
    )
    display = CompareDisplay()
    try:
        outcome = run_compare(request, display, on_plan=display.plan)
    finally:
        display.close()
    console.print("runs: " + ", ".join(f"{count} {status}" for status, count in outcome.counts.items()))
    for note in outcome.notes:
        console.print(f"note: {note}")
    for path in outcome.files:
        typer.echo(str(path))

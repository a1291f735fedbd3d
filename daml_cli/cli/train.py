"""`daml train`: train an embedding model from a preset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from daml_cli.errors import ConfigError


def default_run_dir(preset: str) -> Path:
    return Path("runs") / f"{Path(preset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def train(
    preset: Optional[str] = typer.Option(None, "--preset", "-p", metavar="NAME|FILE", help="Preset name from presets/ or a YAML file."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder holding prepared datasets."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/PRESET-TIME)."),
    overrides: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Override a setting: --set train.iterations=40."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    init: Optional[Path] = typer.Option(
        None, "--init", help="Start from the trunk and embedder of this checkpoint or run folder (any preset)."
    ),
) -> None:
    """Train an embedding model; writes config.yaml, checkpoints/{last,best}.pt and metrics.jsonl."""
    from daml_cli.cli.progress import RichTrainReporter, console, format_terms
    from daml_cli.config.loading import load_config
    from daml_cli.train.loop import train as run_training
    from daml_cli.train.run_dir import RunDir

    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_DIR, the run to continue")
        source = preset or str(RunDir(out).config)
    elif preset is None:
        raise ConfigError("no preset given", "pass --preset NAME (see presets/) or --preset FILE.yaml")
    else:
        source = preset
    extra: dict[str, object] = {}
    if data_root is not None:
        extra["data.root"] = str(data_root)
    if seed is not None:
        extra["seed"] = seed
    if device is not None:
        extra["device"] = device
    if init is not None:
        if resume:
            raise ConfigError("--init starts a new run; --resume continues one", "drop one of them")
        extra["train.init"] = str(init)
        extra["train.init_sha256"] = ""  # hashed afresh: this is a new choice of weights
    config = load_config(source, overrides, extra)
    run_dir = out or default_run_dir(source)
    result = run_training(config, run_dir, resume=resume, preset=source, reporter=RichTrainReporter())
    if not result.is_main:
        return
    console.print(f"trained {result.steps} steps in {result.seconds:.1f} s -> {result.run_dir}")
    if result.last_validation:
        console.print(f"validation: {format_terms(result.last_validation)}")
    typer.echo(str(result.run_dir))

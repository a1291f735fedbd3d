"""`daml train`: train an embedding model from a preset."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def train(
    preset: Optional[str] = typer.Option(None, "--preset", "-p", metavar="NAME|FILE", help="Preset name (see `daml presets`) or a YAML file."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder holding prepared datasets."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/PRESET-TIME)."),
    overrides: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="Override a setting: --set train.iterations=40."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    init: Optional[Path] = typer.Option(
        None, "--init", help="Start from the trunk and embedder of this checkpoint or run folder (any preset)."
    ),
    weights: Optional[Path] = typer.Option(
        None, "--weights", help="Backbone weights from a local state-dict file (model.weights), e.g. ImageNet offline."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the merged configuration and exit; writes nothing."),
) -> None:
    """Train an embedding model; writes config.yaml, checkpoints/{last,best}.pt and metrics.jsonl."""
    from daml_cli.config.loading import dump_config
    from daml_cli.config.request import check_weights_file, default_run_dir, training_config

    config, source = training_config(
        preset, overrides, out=out, resume=resume, data_root=data_root, seed=seed, device=device, weights=weights,
        init=init,
    )
    if dry_run:
        typer.echo(dump_config(config, source), nl=False)
        return
    from daml_cli.cli.progress import RichTrainReporter, console, format_terms
    from daml_cli.models.backbones import verify_weights_file
    from daml_cli.train.loop import train as run_training

    weights_path = check_weights_file(config)
    if weights_path is not None:
        digest = verify_weights_file(config.model)
        console.print(f"backbone weights {weights_path}: every tensor fits (sha256 {digest})", highlight=False)
    result = run_training(config, out or default_run_dir(source), resume=resume, preset=source, reporter=RichTrainReporter())
    if not result.is_main:
        return
    from daml_cli.safety.terminal import for_rich, plain

    span = f" (steps {result.first_step} -> {result.steps})" if result.first_step else ""
    console.print(f"trained {result.new_steps} steps{span} in {result.seconds:.1f} s -> {for_rich(result.run_dir)}")
    if result.last_validation:
        console.print(f"validation: {format_terms(result.last_validation)}")
    typer.echo(plain(result.run_dir))

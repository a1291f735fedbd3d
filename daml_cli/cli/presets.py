"""`daml presets` lists the bundled presets; `daml presets show NAME` prints one's YAML."""

from __future__ import annotations

import typer

presets_app = typer.Typer(
    help="List the bundled presets (`daml presets`) or print one (`daml presets show NAME`).",
    invoke_without_command=True,
    rich_markup_mode=None,
)


def _complete_preset(incomplete: str) -> list[str]:
    from daml_cli.config.loading import available_presets

    return [name for name in available_presets() if name.startswith(incomplete)]


@presets_app.callback()
def presets(context: typer.Context) -> None:
    """List every bundled preset as a table: dataset, backbone, loss, synthesis method, DAML layout, steps."""
    if context.invoked_subcommand is not None:
        return
    from daml_cli.config.presets import PresetSummary, preset_summaries

    rows = [PresetSummary.COLUMNS, *(summary.cells() for summary in preset_summaries())]
    widths = [max(len(row[column]) for row in rows) for column in range(len(PresetSummary.COLUMNS))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@presets_app.command("show")
def show(name: str = typer.Argument(..., help="Preset name.", autocompletion=_complete_preset)) -> None:
    """Print a preset's YAML (save it, edit it, pass it back with --preset FILE.yaml)."""
    from daml_cli.config.presets import preset_text

    typer.echo(preset_text(name), nl=False)

"""The one place where commands are registered on `app`, and the console entry point that runs it."""

from __future__ import annotations

import sys

import typer

from daml_cli.cli import compare, demo, embed, evaluate, export, index, prepare, presets, retrieve, serve, train, visualize
from daml_cli.cli.app import app
from daml_cli.cli.failure import run_reporting_failures

# The order here is the order `daml --help` lists the commands in. No command module imports torch at import time.
for _command in (compare.compare, demo.demo, embed.embed, evaluate.evaluate, export.export):
    app.command()(_command)
app.add_typer(index.index_app, name="index")
for _command in (prepare.prepare, retrieve.retrieve, serve.serve, train.train, visualize.visualize):
    app.command()(_command)
app.add_typer(presets.presets_app, name="presets")

def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; every failure is one ``error: ...`` line and a non-zero exit, usage
    errors included (see `daml_cli.cli.failure`; under `torchrun` only rank 0 prints).

    The click command is built here (not by ``app()``) so every parameter gets a plain metavar first.
    """
    from daml_cli.cli.aliases import rewrite_old_spellings
    from daml_cli.cli.metavars import apply_metavars

    command = typer.main.get_command(app)
    apply_metavars(command)
    args = rewrite_old_spellings(sys.argv[1:] if argv is None else argv)
    run_reporting_failures(lambda: command.main(args=args, prog_name="daml", standalone_mode=False))

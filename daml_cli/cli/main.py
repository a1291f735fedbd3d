"""The one place where commands are registered on `app`, and the console entry point that runs it."""

from __future__ import annotations

import sys

import typer

from daml_cli.cli import demo, embed, evaluate, export, index, prepare, retrieve, train, visualize
from daml_cli.cli.app import app
from daml_cli.errors import DamlError

# The order here is the order `daml --help` lists the commands in. No command module imports torch at import time.
for _command in (demo.demo, embed.embed, evaluate.evaluate, export.export):
    app.command()(_command)
app.add_typer(index.index_app, name="index")
for _command in (prepare.prepare, retrieve.retrieve, train.train, visualize.visualize):
    app.command()(_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, printing DamlError as ``error: ...`` with a non-zero exit.

    Usage errors are reported by Typer itself (standalone mode); engine errors arrive here as DamlError.
    """
    try:
        app(args=argv, prog_name="daml")
    except DamlError as error:
        typer.echo(f"error: {error.one_line()}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)

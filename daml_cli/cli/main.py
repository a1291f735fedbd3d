"""The one place where commands are registered on `app`, and the console entry point that runs it."""

from __future__ import annotations

import os
import sys

import typer

from daml_cli.cli import compare, demo, embed, evaluate, export, index, prepare, retrieve, serve, train, visualize
from daml_cli.cli.app import app
from daml_cli.errors import DamlError

# The order here is the order `daml --help` lists the commands in. No command module imports torch at import time.
for _command in (compare.compare, demo.demo, embed.embed, evaluate.evaluate, export.export):
    app.command()(_command)
app.add_typer(index.index_app, name="index")
for _command in (prepare.prepare, retrieve.retrieve, serve.serve, train.train, visualize.visualize):
    app.command()(_command)

SECONDARY_EXIT_DELAY_S = 2.0


def is_secondary_process() -> bool:
    """True on the ranks other than 0 of a `torchrun` launch: they stay quiet so an error prints once."""
    return os.environ.get("RANK", "0") not in ("", "0")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, printing DamlError as ``error: ...`` with a non-zero exit.

    Usage errors are reported by Typer itself (standalone mode); engine errors arrive here as DamlError.
    The click command is built here (not by ``app()``) so every parameter gets a plain metavar first.
    """
    from daml_cli.cli.aliases import rewrite_old_spellings
    from daml_cli.cli.metavars import apply_metavars

    command = typer.main.get_command(app)
    apply_metavars(command)
    try:
        command.main(args=rewrite_old_spellings(sys.argv[1:] if argv is None else argv), prog_name="daml")
    except DamlError as error:
        if is_secondary_process():
            # torchrun stops every process once one exits: give rank 0 time to print the one message first
            import time

            time.sleep(SECONDARY_EXIT_DELAY_S)
        else:
            typer.echo(f"error: {error.one_line()}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        if not is_secondary_process():
            typer.echo("error: interrupted", err=True)
        sys.exit(130)

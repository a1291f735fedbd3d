"""The one place where commands are registered on `app`, and the console entry point that runs it."""

from __future__ import annotations

from daml_cli.cli import demo, embed, evaluate, export, index, prepare, retrieve, train, visualize
from daml_cli.cli.app import app
from daml_cli.cli.failure import run_reporting_failures

# The order here is the order `daml --help` lists the commands in. No command module imports torch at import time.
for _command in (demo.demo, embed.embed, evaluate.evaluate, export.export):
    app.command()(_command)
app.add_typer(index.index_app, name="index")
for _command in (prepare.prepare, retrieve.retrieve, train.train, visualize.visualize):
    app.command()(_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; every failure is one ``error: ...`` line and a non-zero exit
    (see `daml_cli.cli.failure`), usage errors included."""
    run_reporting_failures(lambda: app(args=argv, prog_name="daml", standalone_mode=False))

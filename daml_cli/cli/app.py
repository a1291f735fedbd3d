"""The bare `daml` Typer object with its root options; commands are added to it in `daml_cli.cli.main`.

Keeping the object apart from the command modules means no command module imports it, so there is no
registration cycle between `app` and the commands.
"""

from __future__ import annotations

from typing import Optional

import typer

from daml_cli import __version__

app = typer.Typer(
    name="daml",
    help="Deep Adversarial Metric Learning on images: prepare, train, embed, evaluate, retrieve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich would double `daml --help`'s start-up time
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"daml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep Adversarial Metric Learning on images."""

"""The `daml` Typer app: registers the commands and turns engine errors into one-line messages."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from daml_cli import __version__
from daml_cli.errors import DamlError

app = typer.Typer(
    name="daml",
    help="Deep Adversarial Metric Learning on images: prepare, train, embed, evaluate, retrieve.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
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


def _register() -> None:
    # Each module adds its commands to `app`; none imports torch at import time.
    from daml_cli.cli import demo, embed, evaluate, export, index, prepare, presets, retrieve, train, visualize  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, printing DamlError as ``error: ...`` with a non-zero exit.

    Usage errors are reported by Typer itself (standalone mode); engine errors arrive here as DamlError.
    """
    _register()
    try:
        app(args=argv, prog_name="daml")
    except DamlError as error:
        typer.echo(f"error: {error.one_line()}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)

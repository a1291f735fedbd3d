"""The `daml` Typer app: registers the commands and turns engine errors into one-line messages."""

from __future__ import annotations

import errno
import os
import sys
from typing import Optional

import typer

from daml_cli import __version__
from daml_cli.errors import DamlError

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


def _register() -> None:
    # Each module adds its commands to `app`; none imports torch at import time.
    from daml_cli.cli import demo, embed, evaluate, export, index, prepare, retrieve, train, visualize  # noqa: F401


def _is_main_process() -> bool:
    """False on every process but rank 0 of a `torchrun` launch, so an error is printed once, not per process."""
    return os.environ.get("RANK", "0") in ("", "0")


def _fail(message: str, exit_code: int) -> None:
    from daml_cli.safety.terminal import plain

    if _is_main_process():
        typer.echo(f"error: {plain(message)}", err=True)
    sys.exit(exit_code)


def _usage_message(error: Exception) -> str:
    """Click's usage error as one line plus a pointer to the command's --help."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "daml"
    text = " ".join(error.format_message().split())  # type: ignore[attr-defined]
    return f"{text} (see `{command} --help`)"


def _os_message(error: OSError) -> str:
    """An OS error as one line naming the path: ``/x/e.npz: No space left on device``."""
    reason = error.strerror or str(error) or type(error).__name__
    path = error.filename if error.filename is not None else None
    if path is None:
        return f"{reason}"
    where = path.decode("utf-8", "backslashreplace") if isinstance(path, bytes) else str(path)
    return f"{where}: {reason}"


def _silence_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. captured in tests)
        pass


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; every failure is one ``error: ...`` line and a non-zero exit.

    Engine errors arrive as DamlError, Typer/click usage errors as click's UsageError (run outside
    standalone mode so they come here too), operating-system errors (full disk, permissions) as OSError.
    Under `torchrun` only rank 0 prints.
    """
    from typer._click import exceptions as click_exceptions
    from typer.exceptions import Abort

    _register()
    try:
        code = app(args=argv, prog_name="daml", standalone_mode=False)
    except DamlError as error:
        _fail(error.one_line(), error.exit_code)
    except click_exceptions.NoArgsIsHelpError as error:
        error.show()
        sys.exit(error.exit_code)
    except click_exceptions.UsageError as error:
        _fail(_usage_message(error), error.exit_code)
    except click_exceptions.ClickException as error:
        _fail(" ".join(error.format_message().split()), error.exit_code)
    except (KeyboardInterrupt, Abort):
        _fail("interrupted", 130)
    except OSError as error:
        if error.errno == errno.EPIPE:  # the reader of our output went away (`daml ... | head`): not an error to report
            _silence_stdout()
            sys.exit(1)
        _fail(_os_message(error), 1)
    except UnicodeError as error:
        _fail(f"a file name or text is not valid UTF-8 ({getattr(error, 'reason', error)})", 1)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)

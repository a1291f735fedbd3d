"""Every way a command can fail, turned into one ``error: ...`` line and an exit code.

Engine errors arrive as DamlError, Typer/click usage errors as click's UsageError (the app runs outside
standalone mode so they come here too), operating-system errors (full disk, permissions) as OSError.
Under `torchrun` only rank 0 prints, so an error appears once, not once per process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer

from daml_cli.errors import DamlError


SECONDARY_EXIT_DELAY_S = 2.0


def is_main_process() -> bool:
    """False on every process but rank 0 of a `torchrun` launch."""
    return os.environ.get("RANK", "0") in ("", "0")


def fail(message: str, exit_code: int) -> None:
    from daml_cli.safety.terminal import MESSAGE_LIMIT, cut, plain

    if is_main_process():  # cut before escaping: a message quoting a huge input stays one short line
        typer.echo(f"error: {plain(cut(message, MESSAGE_LIMIT))}", err=True)
    else:
        # torchrun stops every process once one exits: give rank 0 time to print the one message first
        import time

        time.sleep(SECONDARY_EXIT_DELAY_S)
    sys.exit(exit_code)


def usage_message(error: Any) -> str:
    """Click's usage error as one line plus a pointer to the command's --help."""
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "daml"
    return f"{' '.join(error.format_message().split())} (see `{command} --help`)"


def os_message(error: OSError) -> str:
    """An OS error as one line naming the path: ``/x/e.npz: No space left on device``."""
    reason = error.strerror or str(error) or type(error).__name__
    if error.filename is None:
        return reason
    path = error.filename
    where = path.decode("utf-8", "backslashreplace") if isinstance(path, bytes) else str(path)
    return f"{where}: {reason}"


def _silence_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. captured in tests)
        pass


@contextlib.contextmanager
def print_notices() -> Iterator[None]:
    """While the block runs, every `DamlNotice` is one ``note: ...`` line on stderr (rank 0 only); other
    warnings are shown as before."""
    import warnings

    from daml_cli.errors import DamlNotice
    from daml_cli.safety.terminal import MESSAGE_LIMIT, cut, plain

    with warnings.catch_warnings():
        previous = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, DamlNotice):
                previous(message, category, *args, **kwargs)
            elif is_main_process():
                typer.echo(f"note: {plain(cut(str(message), MESSAGE_LIMIT))}", err=True)

        warnings.simplefilter("always", DamlNotice)
        warnings.showwarning = show
        yield


def run_reporting_failures(run: Callable[[], Any]) -> None:
    """Call `run` (the app, outside standalone mode); every failure becomes one line and a non-zero exit."""
    from typer._click import exceptions as click_exceptions
    from typer.exceptions import Abort

    try:
        with print_notices():
            code = run()
    except DamlError as error:
        fail(error.one_line(), error.exit_code)
    except click_exceptions.NoArgsIsHelpError as error:
        error.show()  # `daml` alone prints the help, as before
        sys.exit(error.exit_code)
    except click_exceptions.UsageError as error:
        fail(usage_message(error), error.exit_code)
    except click_exceptions.ClickException as error:
        fail(" ".join(error.format_message().split()), error.exit_code)
    except (KeyboardInterrupt, Abort):
        fail("interrupted", 130)
    except OSError as error:
        if error.errno == errno.EPIPE:  # the reader of our output went away (`daml ... | head`): nothing to report
            _silence_stdout()
            sys.exit(1)
        fail(os_message(error), 1)
    except UnicodeError as error:
        fail(f"a file name or text is not valid UTF-8 ({getattr(error, 'reason', error)})", 1)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)

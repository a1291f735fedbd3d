"""Run the real `daml` entry point in-process, as every CLI-level test does."""

from __future__ import annotations

import pytest

from daml_cli.cli.main import main


def run_cli(argv: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `daml argv...` in-process; (exit code, stdout, stderr) of that run alone."""
    capsys.readouterr()
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err

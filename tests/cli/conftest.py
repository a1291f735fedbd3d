"""Run the real `daml` entry point in-process and capture (exit code, stdout, stderr)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from daml_cli.cli.app import main

CliRunner = Callable[..., tuple[int, str, str]]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `daml argv...` in-process; (exit code, stdout, stderr) of that run alone."""
    capsys.readouterr()
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    return lambda *argv: run_cli(list(argv), capsys)


def one_line_error(code: int, err: str) -> str:
    """Assert the failure shape every bad input must have, and return the message."""
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]

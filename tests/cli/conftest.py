"""Run the real `daml` entry point in-process and capture (exit code, stdout, stderr)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli_runner import run_cli

CliRunner = Callable[..., tuple[int, str, str]]


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

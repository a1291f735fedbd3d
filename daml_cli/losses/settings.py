"""Range checks of the loss settings that `config/ranges.py` does not cover, run when a loss is built.

Each raises a one-line ``ConfigError`` that names the ``loss.`` key, as the run-level checks do.
"""

from __future__ import annotations

import math

from daml_cli.errors import ConfigError


def finite(key: str, value: float) -> float:
    """`value` as a float; ConfigError unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"'loss.{key}' must be a finite number, got {value!r}")
    return float(value)


def positive(key: str, value: float) -> float:
    """`value` as a float; ConfigError unless it is finite and above 0 (a scale the loss divides by)."""
    if finite(key, value) <= 0.0:
        raise ConfigError(f"'loss.{key}' must be a finite number above 0, got {value!r}")
    return float(value)


def non_negative(key: str, value: float) -> float:
    """`value` as a float; ConfigError unless it is finite and at least 0."""
    if finite(key, value) < 0.0:
        raise ConfigError(f"'loss.{key}' must be a finite number of at least 0, got {value!r}")
    return float(value)


def count(key: str, value: int) -> int:
    """`value`; ConfigError unless it is an integer of at least 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"'loss.{key}' must be an integer of at least 0, got {value!r}")
    return value

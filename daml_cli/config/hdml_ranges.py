"""Value ranges of the ``hdml.*`` settings, each failure a one-line ConfigError naming the key.

Called when the HDML objective is built (train/methods/hdml.py); `config/ranges.py` may call it for every run.
"""

from __future__ import annotations

import math
from typing import Any

from daml_cli.errors import ConfigError


def _finite(key: str, value: Any, low: float, high: float = math.inf, strict: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    ok = ok and (value > low if strict else value >= low) and value <= high
    if not ok:
        bound = f"above {low:g}" if strict else f"of at least {low:g}"
        rule = f"a finite number {bound}" + (f" and at most {high:g}" if math.isfinite(high) else "")
        raise ConfigError(f"'hdml.{key}' must be {rule}, got {value!r}")


def check_hdml_ranges(hdml: Any) -> None:
    """α, β, S and the classifier's rate finite and >= 0, λ in [0, 1], the averaging block an integer >= 1."""
    for key in ("alpha", "beta", "softmax_factor", "lr_classifier"):
        _finite(key, getattr(hdml, key), 0.0)
    _finite("lambda_gen", hdml.lambda_gen, 0.0, 1.0)
    block = hdml.average_block
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ConfigError(f"'hdml.average_block' must be an integer of at least 1, got {block!r}")

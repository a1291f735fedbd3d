"""The learning-rate schedule: a factor on every optimiser's learning rates, one value per training step.

``optim.scheduler=none`` keeps the configured rates. ``cosine`` warms up linearly over ``optim.warmup_steps``
(from 1/W of the rate to the full rate, so the first update is already small but not zero) and then decays
along half a cosine to zero at ``train.iterations``, the usual recipe for fine-tuning a pretrained trunk:
large early updates from a randomly initialised head would otherwise damage the pretrained features.

The factor multiplies each group's configured rate and its phase scale (train/learning_rates.py, the one
writer of rates), so DAML's joint-phase trunk scaling and the schedule compose instead of overwriting each other.
"""

from __future__ import annotations

import math

from daml_cli.errors import ConfigError

SCHEDULERS = ("none", "cosine")


def check_schedule(kind: str, warmup_steps: int, total_steps: int) -> None:
    """A ConfigError naming the key when the schedule cannot be followed."""
    if kind not in SCHEDULERS:
        raise ConfigError(f"unknown optim.scheduler '{kind}'", f"use one of {', '.join(SCHEDULERS)}")
    if warmup_steps < 0:
        raise ConfigError(f"optim.warmup_steps must be >= 0, got {warmup_steps}")
    if kind == "cosine" and warmup_steps >= total_steps > 0:
        raise ConfigError(
            f"optim.warmup_steps ({warmup_steps}) must be smaller than train.iterations ({total_steps})",
            "leave some steps for the cosine decay",
        )


def lr_factor(step: int, total_steps: int, kind: str = "none", warmup_steps: int = 0) -> float:
    """The factor for the update made at `step` (0-based) of a run of `total_steps` updates."""
    if kind == "none":
        return 1.0
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

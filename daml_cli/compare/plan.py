"""What a comparison runs: each compared preset under a name, every seed, its overrides and its run folder.

Overrides, applied in this order on top of each preset: ``--set key=value`` (every preset), then
``--set-for NAME:key=value`` (the preset compared under NAME), then the seed. In every override value the text
``{seed}`` becomes the run's seed, so ``--set train.init=runs/base-s{seed}/checkpoints/best.pt`` gives each
seed its own file. A compared preset is ``PRESET`` (named after the preset's file stem) or ``NAME=PRESET``,
which lets one preset appear twice with different ``--set-for`` overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from daml_cli.config.loading import load_config, parse_override
from daml_cli.config.schema import RunConfig
from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote

SEED_PLACEHOLDER = "{seed}"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Contender:
    """One compared preset: its name in the report and run folders, the preset, its own overrides."""

    name: str
    preset: str
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class RunSpec:
    """One training run of the comparison, with its fully merged configuration."""

    name: str
    preset: str
    seed: int
    overrides: tuple[str, ...]  # as applied, {seed} substituted
    config: RunConfig
    run_dir: Path


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2]: distinct non-negative integers."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, got {quote(text)}", "e.g. --seeds 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds needs non-negative integers, got {quote(text)}", "e.g. --seeds 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds lists a seed twice: {quote(text)}")
    return seeds


def parse_contenders(presets: list[str], set_for: list[str]) -> list[Contender]:
    """Name each preset (``NAME=PRESET`` or the preset's stem) and attach its ``NAME:key=value`` overrides."""
    named: list[tuple[str, str]] = []
    for text in presets:
        name, preset = text.split("=", 1) if "=" in text else (Path(text).stem, text)
        if not _NAME.match(name):
            raise ConfigError(f"{quote(name)} cannot name a compared preset", "use letters, digits, '.', '_' and '-'")
        if not preset:
            raise ConfigError(f"{quote(text)} names no preset", "write NAME=PRESET")
        if name in (n for n, _ in named):
            raise ConfigError(f"two compared presets are named {quote(name)}", "name them apart: NAME=PRESET")
        named.append((name, preset))
    extra: dict[str, list[str]] = {name: [] for name, _ in named}
    for text in set_for:
        head, _, _ = text.partition("=")
        if ":" not in head:
            raise ConfigError(
                f"--set-for {quote(text)} is not of the form NAME:key=value", "e.g. --set-for digits-triplet-daml:daml.lambda_adv=10"
            )
        name, override = text.split(":", 1)
        if name not in extra:
            raise ConfigError(f"--set-for {quote(text)} names {quote(name)}, which is not compared", f"compared: {', '.join(extra)}")
        extra[name].append(override)
    return [Contender(name, preset, tuple(extra[name])) for name, preset in named]


def with_seed(override: str, seed: int) -> str:
    return override.replace(SEED_PLACEHOLDER, str(seed))


def plan_runs(
    contenders: list[Contender],
    seeds: list[int],
    overrides: list[str],
    out: Path,
    extra: dict[str, object] | None = None,
) -> list[RunSpec]:
    """Every (preset, seed) run with its validated configuration; any bad preset or override fails here."""
    for text in [*overrides, *(o for c in contenders for o in c.overrides)]:
        if parse_override(text)[0] == "seed":
            raise ConfigError(f"override {quote(text)} sets the seed", "give the seeds with --seeds")
    specs = []
    for contender in contenders:
        for seed in seeds:
            applied = tuple(with_seed(text, seed) for text in [*overrides, *contender.overrides])
            config = load_config(contender.preset, list(applied), {**(extra or {}), "seed": seed})
            run_dir = out / "runs" / contender.name / f"seed{seed}"
            specs.append(RunSpec(contender.name, contender.preset, seed, applied, config, run_dir))
    return specs

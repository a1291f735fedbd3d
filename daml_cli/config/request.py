"""What a training request (`daml train` or `daml_cli.api.train`) means as a merged configuration.

The CLI and the Python API both go through `training_config`, so their defaults cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daml_cli.config.loading import load_config
from daml_cli.config.schema import RunConfig
from daml_cli.errors import ConfigError


def default_run_dir(preset: str) -> Path:
    """``runs/PRESET-YYYYmmdd-HHMMSS`` in the current folder."""
    return Path("runs") / f"{Path(preset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def training_source(preset: str | None, out: Path | None, resume: bool) -> str:
    """The preset to read: the given one, or a resumed run's own `config.yaml`."""
    if resume:
        if out is None:
            raise ConfigError("--resume needs --out RUN_DIR, the run to continue")
        return preset or str(Path(out) / "config.yaml")
    if preset is None:
        raise ConfigError("no preset given", "pass --preset NAME (`daml presets` lists them) or --preset FILE.yaml")
    return preset


def training_config(
    preset: str | None,
    overrides: Sequence[str] = (),
    *,
    out: Path | None = None,
    resume: bool = False,
    data_root: Path | str | None = None,
    seed: int | None = None,
    device: str | None = None,
    weights: Path | str | None = None,
    init: Path | str | None = None,
) -> tuple[RunConfig, str]:
    """(merged config, preset source): the preset, then `overrides` in order, then the dedicated options."""
    source = training_source(preset, Path(out) if out is not None else None, resume)
    extra: dict[str, Any] = {}
    if data_root is not None:
        extra["data.root"] = str(data_root)
    if seed is not None:
        extra["seed"] = seed
    if device is not None:
        extra["device"] = device
    if weights is not None:
        extra["model.weights"] = str(weights)
    if init is not None:
        if resume:
            raise ConfigError("--init starts a new run; --resume continues one", "drop one of them")
        extra["train.init"] = str(init)
        extra["train.init_sha256"] = ""  # hashed afresh: this is a new choice of weights
    return load_config(source, list(overrides), extra), source


def check_weights_file(config: RunConfig) -> Path | None:
    """The `model.weights` file, which must exist (its content is checked when the backbone is built)."""
    if not config.model.weights:
        return None
    from daml_cli.safety.files import require_regular_file

    path = Path(config.model.weights).expanduser()
    require_regular_file(path, "weights file", ConfigError, "check --weights / model.weights")
    return path

"""The bundled presets: their names, a one-line summary of each, and their YAML text."""

from __future__ import annotations

from dataclasses import dataclass

from daml_cli.config.loading import available_presets, load_config, resolve_preset
from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote


@dataclass(frozen=True)
class PresetSummary:
    name: str
    dataset: str
    backbone: str
    loss: str
    daml: bool
    iterations: int

    def line(self) -> str:
        """E.g. ``cub: googlenet (ImageNet), triplet loss, DAML on, 6000 iterations``."""
        return f"{self.dataset}: {self.backbone}, {self.loss} loss, DAML {'on' if self.daml else 'off'}, {self.iterations} iterations"


def preset_summaries() -> list[PresetSummary]:
    """Every bundled preset, validated and summarised, sorted by name."""
    summaries = []
    for name in available_presets():
        config = load_config(name)
        backbone = config.model.backbone + (" (ImageNet)" if config.model.pretrained else "")
        summaries.append(
            PresetSummary(name, config.data.dataset, backbone, config.loss.name, config.daml.enabled, config.train.iterations)
        )
    return summaries


def preset_text(name: str) -> str:
    """The YAML of a bundled preset, as shipped (comments included)."""
    if name not in available_presets():
        raise ConfigError(f"unknown preset {quote(name)}", f"available presets: {', '.join(available_presets())}")
    return resolve_preset(name).read_text(encoding="utf-8")

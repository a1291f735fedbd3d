"""The bundled presets: their names, a one-line summary of each, and their YAML text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from daml_cli.config.loading import available_presets, load_config, resolve_preset
from daml_cli.config.synthesis import synthesis_of
from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote


@dataclass(frozen=True)
class PresetSummary:
    """One row of `daml presets`: what a preset trains, in the words of its config."""

    name: str
    dataset: str
    backbone: str
    loss: str
    synthesis: str  # none, daml, hdml, ee
    layout: str  # DAML's daml.layout (official or gedml); "-" for the other methods
    iterations: int

    COLUMNS: ClassVar[tuple[str, ...]] = ("preset", "dataset", "backbone", "loss", "synthesis", "layout", "steps")

    def cells(self) -> tuple[str, ...]:
        return (self.name, self.dataset, self.backbone, self.loss, self.synthesis, self.layout, str(self.iterations))


def preset_summaries() -> list[PresetSummary]:
    """Every bundled preset, validated and summarised, sorted by name."""
    summaries = []
    for name in available_presets():
        config = load_config(name)
        backbone = config.model.backbone + (" (ImageNet)" if config.model.pretrained else "")
        synthesis = synthesis_of(config)
        layout = config.daml.layout if synthesis == "daml" else "-"
        summaries.append(
            PresetSummary(name, config.data.dataset, backbone, config.loss.name, synthesis, layout, config.train.iterations)
        )
    return summaries


def preset_text(name: str) -> str:
    """The YAML of a bundled preset, as shipped (comments included)."""
    if name not in available_presets():
        raise ConfigError(f"unknown preset {quote(name)}", f"available presets: {', '.join(available_presets())}")
    return resolve_preset(name).read_text(encoding="utf-8")

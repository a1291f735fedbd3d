"""The one key that says how negatives are synthesised: ``synthesis: none | daml | hdml | ee``.

``daml.enabled: true`` (every preset and config written before the key existed) means ``synthesis: daml``;
`resolve_synthesis` makes the two agree, so a saved ``config.yaml`` holds both, consistently.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from daml_cli.errors import ConfigError

SYNTHESIS_LABELS = {"none": "", "daml": "DAML", "hdml": "HDML", "ee": "EE"}


def synthesis_of(config: Any) -> str:
    """The synthesis method a RunConfig asks for; a ConfigError when its two keys disagree."""
    chosen = config.synthesis
    if config.daml.enabled and chosen not in ("none", "daml"):
        raise ConfigError(
            f"'synthesis={chosen}' and 'daml.enabled=true' ask for two synthesis methods",
            "keep one: set daml.enabled=false, or synthesis=daml",
        )
    return "daml" if config.daml.enabled else chosen


def resolve_synthesis(config: Any) -> Any:
    """`config` with ``synthesis`` and ``daml.enabled`` agreeing (``daml.enabled`` true exactly for DAML)."""
    chosen = synthesis_of(config)
    daml = dataclasses.replace(config.daml, enabled=chosen == "daml")
    return dataclasses.replace(config, synthesis=chosen, daml=daml)


def method_label(config: Any) -> str:
    """A short name of what a run trains, e.g. "DAML + triplet" or "multi_similarity"."""
    prefix = SYNTHESIS_LABELS[synthesis_of(config)]
    return f"{prefix} + {config.loss.name}" if prefix else config.loss.name

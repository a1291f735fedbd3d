"""What DAML does when its synthetic negatives collapse onto their anchors (a known failure of the method).

A synthetic negative at its anchor is a same-class sample labelled negative: label noise that the metric
would learn from. The guard watches ``syn_to_anchor = mean ||x̃−x|| / ||x−x⁻||`` (computed before the update)
and, below ``daml.collapse_threshold``, acts as ``daml.on_collapse`` says:

- ``restore``: put the generator (and its optimiser state) back to the last step whose synthetics were not
  collapsed and skip this step's update, so no network learns from the collapsed batch; after
  `MAX_CONSECUTIVE_RESTORES` restores in a row, or with no good state yet, stop the run;
- ``stop``: stop the run with a message saying what to change;
- ``warn``: warn once and carry on.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from daml_cli.errors import DamlError

MAX_CONSECUTIVE_RESTORES = 5
REMEDY = "raise daml.lambda_reg, lower daml.lambda_adv or optim.lr_generator"


class CollapseGuard:
    """Keeps the last good generator state and applies the `action` when the synthetics collapse."""

    def __init__(self, threshold: float, action: str = "restore") -> None:
        if action not in ("restore", "stop", "warn"):
            raise ValueError(f"unknown collapse action {action!r}")
        self.threshold = threshold
        self.action = action
        self.good: dict[str, Any] | None = None
        self.good_step: int | None = None
        self.restores_in_a_row = 0
        self.warned = False
        self.pending: list[str] = []

    def admit(self, generator: nn.Module, optimizer: torch.optim.Optimizer, syn_to_anchor: torch.Tensor, step: int) -> bool:
        """True when the step may update; False when it was collapsed and the generator was restored."""
        ratio = float(syn_to_anchor)
        if ratio >= self.threshold:
            if self.action == "restore":
                self._snapshot(generator, optimizer, step)
            self.restores_in_a_row = 0
            return True
        what = (
            f"step {step + 1}: synthetic negatives collapsed onto their anchors (mean ||x̃−x||/||x−x⁻|| = "
            f"{ratio:.3f} < daml.collapse_threshold = {self.threshold})"
        )
        if self.action == "warn":
            if not self.warned:
                self.warned = True
                self.pending.append(f"{what}; {REMEDY}")
            return True
        if self.action == "stop" or self.good is None:
            reason = "" if self.action == "stop" else " and no earlier generator state was good"
            raise DamlError(f"{what}{reason}; training stopped", REMEDY)
        if self.restores_in_a_row >= MAX_CONSECUTIVE_RESTORES:
            raise DamlError(
                f"{what} again after {self.restores_in_a_row} restores of the generator of step {self.good_step}; "
                "training stopped",
                REMEDY,
            )
        generator.load_state_dict(self.good["generator"])
        optimizer.load_state_dict(self.good["optimizer"])
        self.restores_in_a_row += 1
        self.pending.append(f"{what}; restored the generator of step {self.good_step} and skipped the update")
        return False

    def _snapshot(self, generator: nn.Module, optimizer: torch.optim.Optimizer, step: int) -> None:
        self.good = {
            "generator": {name: value.detach().clone() for name, value in generator.state_dict().items()},
            "optimizer": copy.deepcopy(optimizer.state_dict()),
        }
        self.good_step = step + 1

    def drain(self) -> list[str]:
        pending, self.pending = self.pending, []
        return pending

"""The one writer of every learning rate: ``rate = configured rate × phase scale × schedule factor``.

Optimisers are built with their configured rates; `LearningRates` remembers those per parameter group (by
the group's ``name``) and, before every step, writes each group's rate for that step. Nothing else sets a
rate, so the phase scaling (e.g. DAML's joint phase at lr/1000 for the trunk) and the cosine schedule compose.
A group's rate stays as written after the step, so it can be read back (and is saved with the optimiser).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from daml_cli.train.phases import Phase


class LearningRates:
    """Holds the configured rate of every optimiser group and sets the rates of each step.

    `optimizers` returns the objective's current optimisers by route name; the configured rates of each
    optimiser object are read the first time it is seen (at construction for those present then).
    """

    def __init__(self, optimizers: Callable[[], Mapping[str, torch.optim.Optimizer]], schedule: Callable[[int], float]) -> None:
        self.optimizers = optimizers
        self.schedule = schedule
        self.configured: dict[int, list[float]] = {}
        for optimizer in optimizers().values():
            self._configured(optimizer)

    def _configured(self, optimizer: torch.optim.Optimizer) -> list[float]:
        key = id(optimizer)
        if key not in self.configured:
            self.configured[key] = [float(group["lr"]) for group in optimizer.param_groups]
        return self.configured[key]

    def rate(self, optimizer: torch.optim.Optimizer, group_index: int, phase: Phase, step: int) -> float:
        """The rate of one group of `optimizer` at `step` in `phase`."""
        group = optimizer.param_groups[group_index]
        scale = phase.lr_scales.get(str(group.get("name", "")), 1.0)
        return self._configured(optimizer)[group_index] * scale * self.schedule(step)

    def apply(self, phase: Phase, step: int) -> None:
        """Write every group's rate for `step`."""
        for optimizer in self.optimizers().values():
            for index, group in enumerate(optimizer.param_groups):
                group["lr"] = self.rate(optimizer, index, phase, step)

"""A training schedule as data: which terms count in each phase, which parameters step, at which rates.

Every objective (the plain base loss, DAML, HDML, Embedding Expansion) describes its schedule as a
`PhaseTable`: consecutive `Phase` records, each lasting a number of steps. A phase says, per optimiser, the
weighted sum of terms whose gradient that optimiser follows (its *route*); an optimiser without a route
does not step. `train/objective.py` reads the table and does the backward passes and the steps, so a method
only computes its terms. Examples (DAML, spec notation):

    pretrain     metric ← real                                       (base loss on real tuples)
    gen_warmup   generator ← J_gen                                   (metric frozen)
    joint        metric, generator ← J_gen + λ·J_m                   (``update: joint``, one backward)
    joint        metric ← λ·J_m, generator ← J_gen                   (``update: alternating``)

Optimisers whose routes are equal share one backward pass into the union of their parameters, which gives
each parameter exactly the gradient of its own route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from daml_cli.errors import ConfigError


@dataclass(frozen=True)
class Phase:
    """One stretch of the schedule.

    - `steps`: how many steps it lasts (``None``: until the end of training);
    - `routes`: optimiser name → {term name: weight}; the optimiser steps on the gradient of
      ``Σ weight·term``; optimisers not named do not step;
    - `lr_scales`: parameter-group name → factor on that group's configured rate during the phase;
    - `frozen`: parameter-group names that get no gradient and do not move (e.g. the trunk in a warm-up);
    - `fresh_optimizers`: optimisers whose state (Adam moments) is cleared when the phase begins.
    """

    name: str
    routes: Mapping[str, Mapping[str, float]]
    steps: int | None = None
    lr_scales: Mapping[str, float] = field(default_factory=dict)
    frozen: tuple[str, ...] = ()
    fresh_optimizers: tuple[str, ...] = ()

    def terms(self) -> dict[str, float]:
        """Every routed term with its weight: the phase's whole objective is ``Σ weight·term`` over these."""
        merged: dict[str, float] = {}
        for route in self.routes.values():
            for term, weight in route.items():
                merged.setdefault(term, weight)
        return merged

    def backward_groups(self) -> list[tuple[dict[str, float], list[str]]]:
        """(route, optimiser names) for each distinct route: one backward pass each."""
        groups: list[tuple[dict[str, float], list[str]]] = []
        for optimizer, route in self.routes.items():
            for known, names in groups:
                if known == dict(route):
                    names.append(optimizer)
                    break
            else:
                groups.append((dict(route), [optimizer]))
        return groups


@dataclass(frozen=True)
class PhaseTable:
    """Consecutive phases; the last one may be open-ended (``steps=None``), every other has a length."""

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        if not self.phases:
            raise ConfigError("a training schedule needs at least one phase")
        for phase in self.phases[:-1]:
            if phase.steps is None:
                raise ConfigError(f"phase '{phase.name}' has no length but is not the last")

    def active(self) -> tuple[Phase, ...]:
        """The phases that take at least one step."""
        return tuple(phase for phase in self.phases if phase.steps is None or phase.steps > 0)

    def locate(self, step: int) -> tuple[Phase, int]:
        """The phase the 0-based `step` falls in, and the step at which that phase begins."""
        start = 0
        for phase in self.active():
            if phase.steps is None or step < start + phase.steps:
                return phase, start
            start += phase.steps
        return self.active()[-1] if self.active() else self.phases[-1], start

    def at(self, step: int) -> Phase:
        return self.locate(step)[0]

    def begins(self, step: int) -> bool:
        """True when `step` is the first step of its phase."""
        return self.locate(step)[1] == step

    def stage(self, step: int) -> str:
        """The phase name to report with a step: "" for a schedule of one phase (nothing to tell apart)."""
        return "" if len(self.phases) == 1 else self.at(step).name

    def boundaries(self) -> list[tuple[str, int]]:
        """(phase name, first step) of every phase that takes a step."""
        marks, start = [], 0
        for phase in self.active():
            marks.append((phase.name, start))
            start += phase.steps or 0
        return marks

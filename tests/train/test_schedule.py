"""The cosine schedule with linear warm-up, checked against the formula written out here, and its application."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.errors import ConfigError
from daml_cli.train.learning_rates import LearningRates
from daml_cli.train.phases import Phase
from daml_cli.train.precision import Precision
from daml_cli.train.schedule import check_schedule, lr_factor


def reference(step: int, total: int, warmup: int) -> float:
    # Linear warm-up to the full rate over `warmup` updates, then half a cosine from 1 to 0 over the rest.
    if step < warmup:
        return (step + 1) / warmup
    return (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


@pytest.mark.parametrize(("total", "warmup"), [(10, 2), (7, 0), (50, 10)])
def test_cosine_follows_the_formula(total: int, warmup: int) -> None:
    assert [lr_factor(s, total, "cosine", warmup) for s in range(total)] == pytest.approx(
        [reference(s, total, warmup) for s in range(total)]
    )


def test_cosine_values_worked_by_hand() -> None:
    # total 10, warm-up 2: 1/2, 2/2, then cos over 8 steps: step 6 is half-way, step 9 is 7/8 of the way.
    assert lr_factor(0, 10, "cosine", 2) == pytest.approx(0.5)
    assert lr_factor(1, 10, "cosine", 2) == pytest.approx(1.0)
    assert lr_factor(2, 10, "cosine", 2) == pytest.approx(1.0)
    assert lr_factor(6, 10, "cosine", 2) == pytest.approx(0.5)
    assert lr_factor(9, 10, "cosine", 2) == pytest.approx(0.0380602337)


def test_none_keeps_the_rate() -> None:
    assert {lr_factor(s, 10, "none", 3) for s in range(10)} == {1.0}


def test_the_factor_scales_each_step_from_the_configured_rate() -> None:
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([{"params": [weight], "lr": 0.1, "name": "trunk"}])
    factors = [0.25, 0.5]
    rates = LearningRates(lambda: {"metric": optimizer}, lambda step: factors[step])
    phase = Phase("joint", {"metric": {"loss": 1.0}}, lr_scales={"trunk": 0.1})
    expected = 1.0
    for step, factor in enumerate(factors):
        weight.grad = torch.ones(1)
        rates.apply(phase, step)
        Precision().step(optimizer)
        expected -= 0.1 * 0.1 * factor  # configured rate × phase scale × schedule factor, not compounded
        assert weight.item() == pytest.approx(expected)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1 * factor)


@pytest.mark.parametrize(
    ("kind", "warmup", "total", "message"),
    [("linear", 0, 10, "optim.scheduler"), ("cosine", -1, 10, "optim.warmup_steps must be >= 0"),
     ("cosine", 10, 10, "smaller than train.iterations")],
)
def test_bad_schedules_name_the_key(kind: str, warmup: int, total: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_schedule(kind, warmup, total)

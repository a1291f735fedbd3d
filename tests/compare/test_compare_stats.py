"""Mean, std and paired differences against numbers worked out by hand (t quantiles from a printed t-table)."""

from __future__ import annotations

import math

import pytest

from daml_cli.compare.stats import paired_difference, summarize

# Two-sided 95 % quantiles t_{0.975, dof} as printed in t-tables.
T_TABLE = {1: 12.706, 2: 4.303, 4: 2.776}


def test_summary_by_hand() -> None:
    s = summarize([0.5, 0.7, 0.9])
    assert s.n == 3 and s.mean == pytest.approx(0.7)
    assert s.std == pytest.approx(math.sqrt((0.04 + 0 + 0.04) / 2))
    one = summarize([0.25])
    assert one.mean == 0.25 and one.std is None


@pytest.mark.parametrize(
    "values, reference",
    [
        ([0.80, 0.85], [0.78, 0.80]),  # n = 2: d = 0.02, 0.05
        ([0.61, 0.70, 0.64], [0.60, 0.66, 0.65]),  # n = 3: d = 0.01, 0.04, -0.01
        ([0.5, 0.6, 0.7, 0.8, 0.9], [0.45, 0.62, 0.61, 0.75, 0.80]),  # n = 5
    ],
)
def test_paired_difference_against_t_table(values: list[float], reference: list[float]) -> None:
    n = len(values)
    d = [a - b for a, b in zip(values, reference)]
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    half = T_TABLE[n - 1] * sd / math.sqrt(n)
    result = paired_difference(values, reference)
    assert result.n == n and result.differences == pytest.approx(d)
    assert result.mean == pytest.approx(mean) and result.std == pytest.approx(sd)
    # the printed table has 3 decimals: allow for that rounding
    assert result.low == pytest.approx(mean - half, abs=1e-3 * sd / math.sqrt(n) + 1e-12)
    assert result.high == pytest.approx(mean + half, abs=1e-3 * sd / math.sqrt(n) + 1e-12)


def test_paired_difference_n2_worked_example() -> None:
    # d = (0.02, 0.05): mean 0.035, s_d = 0.03/√2, half width = 12.706 · s_d/√2 = 12.706 · 0.015 = 0.19059
    result = paired_difference([0.80, 0.85], [0.78, 0.80])
    assert result.low == pytest.approx(0.035 - 0.19059, abs=2e-5)
    assert result.high == pytest.approx(0.035 + 0.19059, abs=2e-5)


def test_one_seed_has_no_interval() -> None:
    result = paired_difference([0.9], [0.7])
    assert result.mean == pytest.approx(0.2) and result.std is None and result.low is None and result.high is None


def test_unpaired_lengths_refused() -> None:
    with pytest.raises(ValueError):
        paired_difference([0.1, 0.2], [0.1])

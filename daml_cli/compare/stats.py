"""Summary statistics of a comparison: mean and spread over seeds, and paired differences with a t interval."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (n − 1 in the denominator; None for one value) of n values."""

    n: int
    mean: float
    std: float | None


@dataclass(frozen=True)
class PairedDifference:
    """Seed-by-seed differences d_s and their mean with a two-sided confidence interval (None when n = 1)."""

    n: int
    differences: tuple[float, ...]
    mean: float
    std: float | None
    low: float | None
    high: float | None
    confidence: float


def summarize(values: Sequence[float]) -> Summary:
    """mean = Σ x / n; std = √(Σ (x − mean)² / (n − 1)), or None when n = 1."""
    if not values:
        raise ValueError("no values to summarize")
    data = [float(v) for v in values]
    return Summary(len(data), statistics.fmean(data), statistics.stdev(data) if len(data) > 1 else None)


def t_quantile(probability: float, dof: int) -> float:
    """The `probability` quantile of Student's t distribution with `dof` degrees of freedom."""
    from scipy.stats import t  # scipy is a dependency; imported here so the module loads fast

    return float(t.ppf(probability, dof))


def paired_difference(
    values: Sequence[float], reference: Sequence[float], confidence: float = 0.95
) -> PairedDifference:
    """Paired difference of `values` against `reference`, seed by seed.

    d_s = values[s] − reference[s];  d̄ = Σ d_s / n;  s_d = √(Σ (d_s − d̄)² / (n − 1));
    interval d̄ ± t_{(1+c)/2, n−1} · s_d / √n  (c = `confidence`; no interval when n = 1).
    """
    if len(values) != len(reference):
        raise ValueError(f"paired values need equal lengths, got {len(values)} and {len(reference)}")
    if not values:
        raise ValueError("no pairs")
    diffs = tuple(float(a) - float(b) for a, b in zip(values, reference))
    summary = summarize(diffs)
    if summary.std is None:
        return PairedDifference(1, diffs, summary.mean, None, None, None, confidence)
    half = t_quantile((1 + confidence) / 2, summary.n - 1) * summary.std / math.sqrt(summary.n)
    return PairedDifference(summary.n, diffs, summary.mean, summary.std, summary.mean - half, summary.mean + half, confidence)

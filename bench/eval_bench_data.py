"""The data and machine description of `eval_bench.py`: SOP-like seeded embeddings and a one-line machine summary."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np


def class_sizes(n: int, classes: int, rng: np.random.Generator, low: int = 2, high: int = 12) -> np.ndarray:
    """``classes`` sizes in ``low..high`` summing to ``n``: geometric-like draw, then nudged to the exact sum."""
    if not low * classes <= n <= high * classes:
        raise SystemExit(f"--n {n} cannot be split into {classes} classes of {low}-{high} items")
    values = np.arange(low, high + 1)
    mean = n / classes
    # p(s) ∝ q^s; pick q by bisection so that the expected size is the target mean.
    lo_q, hi_q = 1e-6, 1e6
    for _ in range(200):
        q = np.sqrt(lo_q * hi_q)
        w = q ** (values - low)
        if (w * values).sum() / w.sum() < mean:
            lo_q = q
        else:
            hi_q = q
    w = q ** (values - low)
    sizes = rng.choice(values, size=classes, p=w / w.sum())
    while (diff := int(sizes.sum()) - n) != 0:
        movable = np.flatnonzero(sizes > low) if diff > 0 else np.flatnonzero(sizes < high)
        pick = rng.choice(movable, size=min(abs(diff), movable.size), replace=False)
        sizes[pick] -= int(np.sign(diff))
    return sizes


def make_data(n: int, classes: int, dim: int, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """SOP-like embeddings: unit class centres plus noise, L2-normalised, shuffled."""
    rng = np.random.default_rng(seed)
    sizes = class_sizes(n, classes, rng)
    labels = np.repeat(np.arange(classes), sizes)
    rng.shuffle(labels)
    centres = rng.standard_normal((classes, dim), dtype=np.float32) / np.sqrt(dim)
    x = centres[labels] + noise * rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels.astype(np.int64)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} CPUs ({model}){mem}, Python {platform.python_version()}, {platform.system()}"

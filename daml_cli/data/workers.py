"""How many DataLoader worker processes `data.workers` means on this machine."""

from __future__ import annotations

import os

MAX_AUTO_WORKERS = 8


def auto_workers(cpu_count: int | None = None) -> int:
    """``auto``: one process per spare core (one core stays with the training loop), at most 8."""
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(0, min(MAX_AUTO_WORKERS, cpus - 1))


def loader_workers(setting: int | str) -> int:
    """The number of workers for `data.workers` (an integer, or ``auto``)."""
    return auto_workers() if setting == "auto" else int(setting)

"""Optional wall-time accounting of the parts of a training step (for `bench/train_bench.py`)."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator


class SectionTimer:
    """Adds up the wall time spent in named sections; does nothing (and costs nothing) when disabled.

    On a GPU pass ``synchronize=torch.cuda.synchronize`` so queued kernels are charged to their section;
    that adds host synchronisation, which is why the training loop leaves the timer disabled.
    """

    def __init__(self, enabled: bool = False, synchronize: Callable[[], None] | None = None) -> None:
        self.enabled = enabled
        self.synchronize = synchronize
        self.totals: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        if self.synchronize is not None:
            self.synchronize()
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.synchronize is not None:
                self.synchronize()
            self.totals[name] += time.perf_counter() - started

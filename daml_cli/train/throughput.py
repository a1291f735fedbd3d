"""Images per second and the share of time spent waiting for images, over the steps since the last log."""

from __future__ import annotations

import time


class ThroughputWindow:
    """Counts images and data-loader waiting time since the window was last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.perf_counter()
        self.images = 0
        self.waiting = 0.0

    def add_wait(self, seconds: float) -> None:
        self.waiting += seconds

    def add_images(self, count: int) -> None:
        self.images += count

    def rates(self) -> tuple[float, float]:
        """(images per second, waiting share of the elapsed time) of the window so far."""
        elapsed = time.perf_counter() - self.started
        if elapsed <= 0:
            return 0.0, 0.0
        return self.images / elapsed, self.waiting / elapsed

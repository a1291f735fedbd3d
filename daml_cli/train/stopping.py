"""Why a run stops early: a loss that is no longer finite, or SIGINT/SIGTERM (caught, then acted on between steps)."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from daml_cli.errors import DamlError

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def check_finite(values: dict[str, float], step: int, last_checkpoint: Path) -> None:
    """A DamlError when the logged ``loss`` or ``j`` (a synthesis method's whole objective) is NaN or infinite."""
    bad = next((name for name in ("loss", "j") if name in values and not math.isfinite(values[name])), None)
    if bad is None:
        return
    kept = f"the last good checkpoint is {last_checkpoint}" if last_checkpoint.exists() else "no checkpoint was written"
    what = "the loss" if bad == "loss" else "the whole objective j"
    raise DamlError(f"{what} became {values[bad]} at step {step}; training stopped", f"lower the learning rates; {kept}")


class StopSignals:
    """Records SIGINT/SIGTERM while installed, so the loop can save a checkpoint and stop between steps."""

    def __init__(self) -> None:
        self.received: int | None = None

    def _record(self, signum: int, frame: object) -> None:
        self.received = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Catch the signals for the duration (only possible on the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._record) for signum in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else "a stop signal"

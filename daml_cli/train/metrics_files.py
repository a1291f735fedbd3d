"""Standard logs of a run besides ``metrics.jsonl``: ``metrics.csv`` (always) and TensorBoard event files
(when the optional ``tensorboard`` package is installed: ``pip install daml-cli[tensorboard]``).

The CSV has one column per field ever logged (``step,phase`` first). A row is appended and flushed per
record; when a record brings a new field (e.g. the first validation), the file is rewritten atomically with
the wider header, so a reader never sees a half-written header.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from daml_cli.atomic import atomic_write_text

FIRST_COLUMNS = ("step", "phase")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class MetricsCsv:
    """``RUN/metrics.csv``: one row per logged record, one column per field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if path.is_file():  # a resumed run continues its file
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)

    def write(self, record: dict[str, Any]) -> None:
        self.rows.append(record)
        new = [name for name in record if name not in self.columns]
        if new or not self.path.is_file():
            ordered = [c for c in FIRST_COLUMNS if c in record or c in self.columns]
            self.columns = ordered + [c for c in [*self.columns, *new] if c not in ordered]
            atomic_write_text(self.path, self._render(self.rows, header=True))
            return
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(self._render([record], header=False))
            handle.flush()

    def _render(self, rows: list[dict[str, Any]], header: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if header:
            writer.writerow(self.columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in self.columns])
        return buffer.getvalue()


class TensorBoardLog:
    """Scalars under ``RUN/tensorboard/`` as ``PHASE/FIELD`` (``train/loss``, ``val/recall@1``)."""

    def __init__(self, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs the `tensorboard` package

        self.writer = SummaryWriter(log_dir=str(folder))

    def write(self, record: dict[str, Any]) -> None:
        step, phase = record.get("step"), record.get("phase")
        if not isinstance(step, int) or not isinstance(phase, str):
            return
        for name, value in record.items():
            if name not in FIRST_COLUMNS and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(f"{phase}/{name}", float(value), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def tensorboard_log(folder: Path) -> TensorBoardLog | None:
    """A TensorBoard writer when `tensorboard` is installed, else None (the CSV and JSONL logs remain)."""
    try:
        return TensorBoardLog(folder)
    except ImportError:
        return None

"""metrics.csv (one column per field), curves.png and the optional TensorBoard log of a run."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from daml_cli.report.curves import series, write_curves
from daml_cli.report.scatter import PALETTE
from daml_cli.train.metrics_files import MetricsCsv


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_csv_widens_its_header_when_a_field_appears(tmp_path: Path) -> None:
    log = MetricsCsv(tmp_path / "metrics.csv")
    log.write({"step": 1, "phase": "train", "loss": 0.5})
    log.write({"step": 2, "phase": "val", "recall@1": 0.25, "best": True})
    log.write({"step": 3, "phase": "train", "loss": 0.125})
    columns, rows = _read_csv(tmp_path / "metrics.csv")
    assert columns == ["step", "phase", "loss", "recall@1", "best"]
    assert rows == [
        {"step": "1", "phase": "train", "loss": "0.5", "recall@1": "", "best": ""},
        {"step": "2", "phase": "val", "loss": "", "recall@1": "0.25", "best": "true"},
        {"step": "3", "phase": "train", "loss": "0.125", "recall@1": "", "best": ""},
    ]
    again = MetricsCsv(tmp_path / "metrics.csv")  # a resumed run appends to the same table
    again.write({"step": 4, "phase": "train", "loss": 0.0625})
    assert [row["step"] for row in _read_csv(tmp_path / "metrics.csv")[1]] == ["1", "2", "3", "4"]


def test_series_keeps_numeric_fields_per_phase() -> None:
    records = [
        {"step": 10, "phase": "train", "loss": 2.0, "images_per_s": 100.0, "data_wait": 0.1},
        {"step": 10, "phase": "val", "recall@1": 0.5, "best": True},
        {"step": 5, "phase": "train", "loss": 3.0},
        {"step": 7, "phase": "warning", "message": "text"},
    ]
    assert series(records, "train") == {"loss": [(5.0, 3.0), (10.0, 2.0)]}
    assert series(records, "val") == {"recall@1": [(10.0, 0.5)]}


def test_training_writes_csv_curves_and_maybe_tensorboard(tiny_run: Path, tmp_path: Path) -> None:
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    columns, rows = _read_csv(tiny_run / "metrics.csv")
    assert len(rows) == len(records)
    assert set(columns) == {key for record in records for key in record}
    for record, row in zip(records, rows):
        for key, value in record.items():
            assert row[key] == (str(value).lower() if isinstance(value, bool) else str(value)), key
    curves = Image.open(tiny_run / "curves.png").convert("RGB")
    assert PALETTE[0] in {colour for _, colour in curves.getcolors(maxcolors=1_000_000)}
    has_tensorboard = importlib.util.find_spec("tensorboard") is not None
    events = list((tiny_run / "tensorboard").glob("events.out.tfevents.*")) if (tiny_run / "tensorboard").exists() else []
    assert bool(events) == has_tensorboard


def test_tensorboard_events_hold_every_numeric_value_of_metrics_jsonl(tiny_run: Path) -> None:
    """Read the event files back with TensorBoard's own reader: one scalar per (phase, field, step) of
    metrics.jsonl, equal to it (float32), and nothing else."""
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    expected: dict[str, list[tuple[int, float]]] = {}
    for line in (tiny_run / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key, value in record.items():
            if key not in ("step", "phase") and isinstance(value, (int, float)) and not isinstance(value, bool):
                expected.setdefault(f"{record['phase']}/{key}", []).append((record["step"], value))
    events = EventAccumulator(str(tiny_run / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert sorted(tags) == sorted(expected)
    for tag, points in expected.items():
        got = [(event.step, event.value) for event in events.Scalars(tag)]
        assert [step for step, _ in got] == [step for step, _ in points], tag
        np.testing.assert_allclose([v for _, v in got], [v for _, v in points], rtol=1e-6, err_msg=tag)


def test_without_tensorboard_there_is_no_log_and_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from daml_cli.train.metrics_files import tensorboard_log

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    assert tensorboard_log(tmp_path / "tb") is None
    assert not (tmp_path / "tb").exists()


def test_curves_png_draws_both_panels(tmp_path: Path) -> None:
    records = [{"step": s, "phase": "train", "loss": 1.0 / s, "j_hard": 0.5} for s in range(1, 11)]
    records += [{"step": s, "phase": "val", "recall@1": 0.1 * s // 5} for s in (5, 10)]
    out = write_curves(records, tmp_path / "curves.png", "a run")
    colours = {colour for _, colour in Image.open(out).convert("RGB").getcolors(maxcolors=1_000_000)}
    assert PALETTE[0] in colours and PALETTE[1] in colours  # two training terms, the first validation metric

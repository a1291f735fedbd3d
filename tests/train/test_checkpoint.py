"""Checkpoints are written atomically, opened with weights_only, and refused when corrupt or foreign."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from daml_cli.errors import CheckpointError
from daml_cli.train.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint

PAYLOAD = {"config": {}, "preprocessing": {"resize": 36, "crop": 32, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}, "step": 3, "model": {"w": torch.ones(2)}}


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, PAYLOAD)
    loaded = load_checkpoint(path)
    assert loaded["step"] == 3 and torch.equal(loaded["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, PAYLOAD)
    with pytest.raises(Exception):
        save_checkpoint(path, {**PAYLOAD, "model": lambda: None})  # not serialisable
    assert load_checkpoint(path)["step"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "daml-checkpoint", "version": 1, "hook": Path("x")}, path)  # arbitrary object
    with pytest.raises(CheckpointError, match="corrupt or not a PyTorch file"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a checkpoint at all", "corrupt or not a PyTorch file"),
        (None, "not a daml checkpoint"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"weights": torch.zeros(1)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {**PAYLOAD, "model": {"w": torch.randn(1000)}})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_resolve_prefers_best_then_last(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoints"):
        resolve_checkpoint(tmp_path)
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"x")
    assert resolve_checkpoint(tmp_path).name == "last.pt"
    (tmp_path / "checkpoints" / "best.pt").write_bytes(b"x")
    assert resolve_checkpoint(tmp_path).name == "best.pt"
    with pytest.raises(CheckpointError, match="does not exist"):
        resolve_checkpoint(tmp_path / "missing")

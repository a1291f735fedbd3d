"""Checkpoints are written atomically, opened with weights_only, and refused when corrupt or foreign."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from daml_cli.errors import CheckpointError
from daml_cli.models.checkpoint import Checkpoint, fit_state, load_checkpoint, resolve_checkpoint, save_checkpoint

CHECKPOINT = Checkpoint(config={}, preprocessing={}, step=3, model={"w": torch.ones(2)})


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, CHECKPOINT)
    loaded = load_checkpoint(path)
    assert loaded.step == 3 and torch.equal(loaded.model["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind


def test_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, CHECKPOINT)
    with pytest.raises(Exception):
        save_checkpoint(path, Checkpoint(config={}, preprocessing={}, step=4, model=lambda: None))  # type: ignore[arg-type]
    assert load_checkpoint(path).step == 3
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
    save_checkpoint(path, Checkpoint(config={}, preprocessing={}, step=3, model={"w": torch.randn(1000)}))
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


def test_every_field_survives_the_disk_and_the_file_is_plain_data(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    written = Checkpoint(
        config={"seed": 7},
        preprocessing={"size": 32},
        step=11,
        model={"w": torch.arange(3.0)},
        objective={"generator": {"b": torch.zeros(1)}},
        best={"metric": "recall@1", "value": 0.5},
        rng={"torch": torch.get_rng_state()},
        daml_version="1.2.3",
    )
    save_checkpoint(path, written)
    raw = torch.load(path, weights_only=True)  # read independently of load_checkpoint
    assert raw["format"] == "daml-checkpoint" and raw["version"] == 1 and raw["step"] == 11
    loaded = load_checkpoint(path)
    assert (loaded.config, loaded.preprocessing, loaded.step, loaded.best, loaded.daml_version) == (
        {"seed": 7}, {"size": 32}, 11, {"metric": "recall@1", "value": 0.5}, "1.2.3"
    )
    assert torch.equal(loaded.model["w"], torch.tensor([0.0, 1.0, 2.0]))
    assert torch.equal(loaded.objective["generator"]["b"], torch.zeros(1))
    assert torch.equal(loaded.rng["torch"], written.rng["torch"])


def test_a_checkpoint_that_does_not_fit_the_model_is_a_checkpoint_error(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 3)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        fit_state(model, torch.nn.Linear(4, 3).state_dict(), tmp_path / "c.pt")
    state = torch.nn.Linear(2, 3).state_dict()
    fit_state(model, state, tmp_path / "c.pt")
    assert torch.equal(model.weight, state["weight"])

"""Backbone weights from a local file: loaded with weights_only, checked tensor by tensor, hash printed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from daml_cli.config.schema import ModelConfig
from daml_cli.errors import CheckpointError
from daml_cli.models.embedding import build_model
from daml_cli.models.small_cnn import SmallCNN
from tests.cli.conftest import cli, one_line_error  # noqa: F401  (cli: the in-process CLI fixture)
from tests.conftest import TINY


def _small_cnn_file(path: Path, width: int = 8, seed: int = 1) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    state = SmallCNN(width=width).state_dict()
    torch.save(state, path)
    return state


def test_small_cnn_takes_every_tensor_from_the_file(tmp_path: Path) -> None:
    state = _small_cnn_file(tmp_path / "w.pt")
    model = build_model(ModelConfig(backbone="small_cnn", width=8, weights=str(tmp_path / "w.pt")))
    trunk = model.trunk.state_dict()
    assert all(torch.equal(trunk[key], value) for key, value in state.items())
    fresh = build_model(ModelConfig(backbone="small_cnn", width=8, weights=str(tmp_path / "w.pt")), load_weights=False)
    assert not all(torch.equal(fresh.trunk.state_dict()[k], v) for k, v in state.items())  # checkpoints supply their own


def test_googlenet_loads_a_torchvision_file_and_ignores_aux_heads(tmp_path: Path) -> None:
    from torchvision.models import googlenet

    torch.manual_seed(0)
    state = googlenet(weights=None, aux_logits=True, init_weights=True).state_dict()  # aux1/aux2: not in our trunk
    torch.save(state, tmp_path / "googlenet.pth")
    model = build_model(ModelConfig(backbone="googlenet", pretrained=True, weights=str(tmp_path / "googlenet.pth")))
    trunk = model.trunk.state_dict()
    assert torch.equal(trunk["conv1.conv.weight"], state["conv1.conv.weight"])
    assert torch.equal(trunk["inception5b.branch4.1.bn.running_var"], state["inception5b.branch4.1.bn.running_var"])


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: _small_cnn_file(p, width=16), "have another shape"),
        (lambda p: torch.save({"blocks.0.0.weight": torch.zeros(8, 3, 3, 3)}, p), "lacks"),
        (lambda p: p.write_bytes(b"not a torch file"), "corrupt or not a PyTorch file"),
        (lambda p: torch.save({"cls": Path("x")}, p), "corrupt or not a PyTorch file"),  # weights_only refuses objects
        (lambda p: torch.save([1, 2], p), "does not hold a state dict"),
    ],
)
def test_bad_weights_files_are_one_line_errors(tmp_path: Path, make, expected: str) -> None:
    path = tmp_path / "w.pt"
    make(path)
    with pytest.raises(CheckpointError, match=expected):
        build_model(ModelConfig(backbone="small_cnn", width=8, weights=str(path)))


def test_train_weights_option_prints_the_hash_and_checks_the_file(cli, digits_root: Path, tmp_path: Path) -> None:
    weights = tmp_path / "trunk.pt"
    _small_cnn_file(weights, width=8)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    tiny = [arg for item in TINY for arg in ("--set", item)]
    base = ["train", "--preset", "digits-triplet", "--data-root", digits_root, "--device", "cpu", *tiny]
    code, _, err = cli(*base, "--out", tmp_path / "run", "--weights", weights)
    assert code == 0, err
    assert f"sha256 {digest}" in " ".join(err.split())
    assert f"weights: {weights}" in (tmp_path / "run" / "config.yaml").read_text()  # recorded, so the run reproduces

    _small_cnn_file(tmp_path / "wide.pt", width=16)
    code, _, err = cli(*base, "--out", tmp_path / "bad", "--weights", tmp_path / "wide.pt")
    message = one_line_error(code, err)
    assert "does not fit the backbone" in message and "(16," in message and "(8," in message
    assert not (tmp_path / "bad" / "checkpoints" / "last.pt").exists()
    code, _, err = cli(*base, "--out", tmp_path / "none", "--weights", tmp_path / "missing.pt")
    assert "weights file" in one_line_error(code, err) and not (tmp_path / "none").exists()

"""The hard-negative generator: input order [x⁻; x; x⁺], output width, both layouts, edge cases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from daml_cli.models.generator import HardNegativeGenerator


def _inputs(n: int = 5, f: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(n, f, generator=gen) for _ in range(3))  # type: ignore[return-value]


@pytest.mark.parametrize("layout", ["mlp3", "official"])
def test_output_has_the_feature_width(layout: str) -> None:
    generator = HardNegativeGenerator(6, 10, layout)
    negative, anchor, positive = _inputs()
    assert generator(negative, anchor, positive).shape == (5, 6)
    first = next(m for m in generator.modules() if isinstance(m, nn.Linear))
    assert first.in_features == 18 and first.out_features == 10


@pytest.mark.parametrize("layout", ["mlp3", "official"])
def test_negative_comes_first_then_anchor_then_positive(layout: str) -> None:
    """Zeroing the first layer's columns of one block makes the output blind to exactly that input."""
    f = 6
    negative, anchor, positive = _inputs(f=f)
    for block, name in enumerate(["negative", "anchor", "positive"]):
        generator = HardNegativeGenerator(f, 8, layout).eval()
        first = next(m for m in generator.modules() if isinstance(m, nn.Linear))
        with torch.no_grad():
            first.weight[:, block * f : (block + 1) * f] = 0.0
        inputs = {"negative": negative, "anchor": anchor, "positive": positive}
        base = generator(**inputs)
        for other in inputs:
            changed = dict(inputs, **{other: inputs[other] + 1.0})
            moved = not torch.allclose(generator(**changed), base)
            assert moved == (other != name), (layout, name, other)


@pytest.mark.parametrize("layout", ["mlp3", "official"])
def test_from_batch_equals_forward_on_gathered_rows(layout: str) -> None:
    """The blockwise first layer is only a faster way to compute G on every (negative, anchor, positive)."""
    torch.manual_seed(1)
    generator = HardNegativeGenerator(6, 8, layout).train()
    features = torch.randn(10, 6, requires_grad=True)
    gen = torch.Generator().manual_seed(2)
    negative, anchor, positive = (torch.randint(0, 10, (37,), generator=gen) for _ in range(3))
    fast = generator.from_batch(features, negative, anchor, positive)
    plain = generator(features[negative], features[anchor], features[positive])
    assert torch.allclose(fast, plain, atol=1e-5)
    weights = torch.randn(37, 6)
    (fast_grad,) = torch.autograd.grad((fast * weights).sum(), features)
    (plain_grad,) = torch.autograd.grad((plain * weights).sum(), features)
    assert torch.allclose(fast_grad, plain_grad, atol=1e-4)
    one = generator.from_batch(features, negative[:1], anchor[:1], positive[:1])
    assert one.shape == (1, 6) and generator.training


def test_mlp3_is_three_linear_layers_with_batchnorm_and_a_linear_output() -> None:
    generator = HardNegativeGenerator(4, 0, "mlp3")
    linears = [m for m in generator.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(12, 4), (4, 4), (4, 4)]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in generator.modules()) == 2
    assert isinstance(list(generator.net)[-1], nn.Linear)  # no final ReLU: outputs may be negative


def test_official_layout_can_output_negative_coordinates() -> None:
    """The Chainer code's final ReLU is not copied: unit features have negative coordinates."""
    torch.manual_seed(0)
    generator = HardNegativeGenerator(8, 16, "official")
    linears = [m for m in generator.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 2
    assert all(abs(float(m.weight.detach().std()) - 0.02) < 0.006 for m in linears)
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    out = generator(*_inputs(n=64, f=8))
    assert (out < 0).any() and (out > 0).any()


def test_single_row_in_training_mode_uses_running_statistics() -> None:
    generator = HardNegativeGenerator(4, 6, "mlp3").train()
    negative, anchor, positive = _inputs(n=1, f=4)
    out = generator(negative, anchor, positive)
    assert out.shape == (1, 4)
    assert generator.training and all(m.training for m in generator.modules())
    expected = generator.eval()(negative, anchor, positive)
    assert torch.allclose(out, expected)


def test_empty_input_gives_empty_output() -> None:
    generator = HardNegativeGenerator(4, 6, "mlp3").train()
    empty = torch.zeros(0, 4)
    assert generator(empty, empty, empty).shape == (0, 4)


def test_unknown_layout_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown generator layout"):
        HardNegativeGenerator(4, 4, "gan")

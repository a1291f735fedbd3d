"""DAML's objective and its gradient routing against a from-scratch reference written in this file.

The reference re-implements the whole forward pass (trunk, neck, metric, generator, every term) on cloned
leaf tensors with plain tensor algebra and per-triple loops, and takes its gradients with autograd; nothing
of the objective's own forward is reused. Batches are laid out [anchors; positives; negatives] (the
authors' sampling, ``loss.triplets: official``), so triple i is (i, T + i, 2T + i) by construction.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from daml_cli.config.schema import DamlConfig, LossConfig, ModelConfig, OptimConfig, RunConfig
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel, L2Normalize
from daml_cli.train.methods.daml import DamlObjective

T = 4  # triples per batch
LABELS = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7])  # anchors, their positives, one negative each
IN, HID, FEAT = 5, 6, 4


@dataclasses.dataclass(frozen=True)
class Case:
    official: bool  # official head (BN → Linear → L2 features, Linear → ReLU → Linear metric) or one Linear + L2
    update: str
    detach_real: bool
    half: bool
    order: str


CASES = [
    Case(True, "joint", False, True, "apn"),  # the authors' code
    Case(True, "alternating", True, True, "apn"),
    Case(False, "joint", True, False, "nap"),  # the gedml layout
    Case(False, "alternating", False, False, "nap"),
]
MARGIN, ADV_MARGIN, LAMBDA_REG, LAMBDA_ADV, LAMBDA_M = 0.3, 0.05, 0.7, 2.0, 1.5


def _setup(case: Case, seed: int = 2) -> tuple[DamlObjective, torch.Tensor]:
    torch.manual_seed(seed)
    trunk = nn.Sequential(nn.Linear(IN, HID), nn.ReLU())
    if case.official:
        neck = nn.Sequential(nn.BatchNorm1d(HID), nn.Linear(HID, FEAT), L2Normalize())
        embedder = nn.Sequential(nn.Linear(FEAT, FEAT), nn.ReLU(), nn.Linear(FEAT, FEAT))
        model = EmbeddingModel(trunk, neck, embedder, FEAT, FEAT, normalize=False)
    else:
        model = EmbeddingModel(trunk, nn.Identity(), nn.Linear(HID, FEAT), HID, FEAT, normalize=True)
    config = RunConfig(
        seed=1,
        model=ModelConfig(layout="official" if case.official else "standard"),
        loss=LossConfig(name="triplet", margin=MARGIN, triplets="official"),
        optim=OptimConfig(lr_trunk=1e-3, lr_embedder=1e-3, lr_generator=1e-3),
        daml=DamlConfig(
            enabled=True, generator="official", generator_hidden=7, update=case.update, detach_real=case.detach_real,
            half_hinge=case.half, input_order=case.order, lambda_reg=LAMBDA_REG, lambda_adv=LAMBDA_ADV,
            lambda_metric=LAMBDA_M, adv_margin=ADV_MARGIN, on_collapse="warn",
        ),
    )
    objective = DamlObjective(model, build_loss(config.loss), config)
    with torch.no_grad():  # weights large enough that synthetics are spread out and J_adv is partly active
        for param in objective.generator.parameters():
            param.normal_(0.0, 0.6)
    images = torch.randn(3 * T, IN, generator=torch.Generator().manual_seed(seed + 10))
    return objective, images


def _leaves(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone().requires_grad_(True) for name, p in module.named_parameters()}


def _reference(case: Case, images: torch.Tensor, m: dict[str, torch.Tensor], g: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every DAML term by hand: spec §3 with the authors' ½ factors when `case.half`."""
    h = torch.relu(images @ m["trunk.0.weight"].T + m["trunk.0.bias"])
    if case.official:
        mean, var = h.mean(0), ((h - h.mean(0)) ** 2).mean(0)
        h = (h - mean) / torch.sqrt(var + 1e-5) * m["neck.0.weight"] + m["neck.0.bias"]
        z = h @ m["neck.1.weight"].T + m["neck.1.bias"]
        feat = z / z.norm(dim=1, keepdim=True)
    else:
        feat = h

    def f(v: torch.Tensor) -> torch.Tensor:
        if case.official:
            hidden = torch.relu(v @ m["embedder.0.weight"].T + m["embedder.0.bias"])
            return hidden @ m["embedder.2.weight"].T + m["embedder.2.bias"]
        e = v @ m["embedder.weight"].T + m["embedder.bias"]
        return e / e.norm()

    def gen(xa: torch.Tensor, xp: torch.Tensor, xn: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([xa, xp, xn] if case.order == "apn" else [xn, xa, xp])
        hidden = torch.relu(inputs @ g["net.0.weight"].T + g["net.0.bias"])
        return hidden @ g["net.2.weight"].T + g["net.2.bias"]

    real = feat.detach() if case.detach_real else feat
    half = 0.5 if case.half else 1.0
    hard = reg = adv = metric = torch.zeros(())
    active = 0
    for i in range(T):
        a, p, n = i, T + i, 2 * T + i
        syn = gen(real[a], real[p], real[n])
        hard = hard + ((syn - real[a]) ** 2).sum()
        reg = reg + ((syn - real[n]) ** 2).sum()
        fa, fp, fs = f(feat[a]), f(feat[p]), f(syn)
        d_pos = ((fp - fa) ** 2).sum()
        hinge = torch.clamp(((fs - fa) ** 2).sum() - d_pos - ADV_MARGIN, min=0.0)
        active += int(hinge.item() > 0)
        adv = adv + half * hinge
        fs_m = f(syn.detach()) if case.update == "alternating" else fs
        metric = metric + half * torch.clamp(d_pos - ((fs_m - fa) ** 2).sum() + MARGIN, min=0.0)
    hard, reg, adv, metric = hard / T, reg / T, adv / T, metric / T
    j_gen = hard + LAMBDA_REG * reg + LAMBDA_ADV * adv
    return {"j_hard": hard, "j_reg": reg, "j_adv": adv, "j_m": metric, "j_gen": j_gen, "active": torch.tensor(active)}


def _expected_grads(case: Case, terms: dict[str, torch.Tensor], m: dict[str, torch.Tensor], g: dict[str, torch.Tensor]):  # type: ignore[no-untyped-def]
    """`joint`: ∇ of J = J_gen + λ·J_m for everything; `alternating`: G gets ∇J_gen, the metric ∇(λ·J_m)."""
    total = terms["j_gen"] + LAMBDA_M * terms["j_m"]
    if case.update == "joint":
        grads = torch.autograd.grad(total, [*m.values(), *g.values()], allow_unused=True)
        return grads[: len(m)], grads[len(m):]
    metric = torch.autograd.grad(LAMBDA_M * terms["j_m"], list(m.values()), allow_unused=True, retain_graph=True)
    generator = torch.autograd.grad(terms["j_gen"], list(g.values()), allow_unused=True)
    return metric, generator


def _close(actual: torch.Tensor | None, expected: torch.Tensor | None, like: torch.Tensor) -> bool:
    """No gradient counts as a zero one (autograd leaves unreached parameters without one)."""
    actual = torch.zeros_like(like) if actual is None else actual
    expected = torch.zeros_like(like) if expected is None else expected
    return torch.allclose(actual, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'official' if c.official else 'gedml'}-{c.update}-detach{c.detach_real}")
def test_terms_match_the_reference(case: Case) -> None:
    objective, images = _setup(case)
    m, g = _leaves(objective.model), _leaves(objective.generator)
    expected = _reference(case, images, m, g)
    assert 0 < int(expected["active"]) < T  # J_adv active for some triples, idle for others
    terms = objective.forward_terms(images, LABELS, 0)
    for name in ("j_hard", "j_reg", "j_adv", "j_gen"):
        assert getattr(terms, name).item() == pytest.approx(expected[name].item(), rel=1e-5), name
    assert terms.j_m.loss.item() == pytest.approx(expected["j_m"].item(), rel=1e-5)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'official' if c.official else 'gedml'}-{c.update}-detach{c.detach_real}")
def test_gradients_match_the_reference(case: Case) -> None:
    """The gradients train_step leaves on every parameter equal the reference's, parameter by parameter."""
    objective, images = _setup(case)
    m, g = _leaves(objective.model), _leaves(objective.generator)
    metric_expected, generator_expected = _expected_grads(case, _reference(case, images, m, g), m, g)
    objective.train_step(images, LABELS, 0)
    for (name, param), expected in zip(objective.model.named_parameters(), metric_expected):
        assert _close(param.grad, expected, param), f"metric parameter {name}"
    for (name, param), expected in zip(objective.generator.named_parameters(), generator_expected):
        assert _close(param.grad, expected, param), f"generator parameter {name}"
    assert any(grad is not None and grad.abs().sum() > 0 for grad in generator_expected)

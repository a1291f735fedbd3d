"""HDML's whole step against a from-scratch recomputation inside the test: every term, and the gradient each
optimiser steps on (metric ← J_metric through the pulling and the generator, generator ← J_gen, classifier ←
CE(y) only); N-pair's all-pairs candidates; the settings it refuses."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from daml_cli.config.schema import HdmlConfig, LossConfig, OptimConfig, RunConfig
from daml_cli.errors import CheckpointError, ConfigError
from daml_cli.losses.hdml_terms import pull_negatives
from daml_cli.losses.npair import NPairLoss
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.methods.hdml import HdmlObjective, check_hdml_config, soft_groups
from daml_cli.train.methods.hdml_nets import SoftmaxClassifier
from daml_cli.train.registry import METHODS

LOSSES = {
    "triplet": (LossConfig(name="triplet", margin=1.0, squared=True, triplets="official"), [10, 20, 30, 40] * 2 + [50, 60, 70, 80]),
    "npair": (LossConfig(name="npair", l2_reg=0.01), [10, 20, 30, 40] * 2),
}
CLASSES = [10, 20, 30, 40, 50, 60, 70, 80, 95]  # with gaps, and one class no batch holds
ALPHA, BETA, LAMBDA, FACTOR = 90.0, 1e4, 0.3, 50.0


def _objective(loss: str, **hdml: object) -> tuple[HdmlObjective, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = EmbeddingModel(nn.Sequential(nn.Linear(8, 16), nn.Tanh()), nn.Identity(), nn.Linear(16, 6), 16, 6, False)
    cfg, labels = LOSSES[loss]
    config = RunConfig(
        synthesis="hdml", loss=cfg, optim=OptimConfig(lr_generator=1e-2),
        hdml=HdmlConfig(alpha=ALPHA, beta=BETA, lambda_gen=LAMBDA, softmax_factor=FACTOR, **hdml),  # type: ignore[arg-type]
    )
    objective = HdmlObjective(model, build_loss(cfg), config, class_labels=CLASSES)
    gen = torch.Generator().manual_seed(1)
    centres = {label: torch.randn(8, generator=gen) * 3 for label in CLASSES}
    centres[40] = centres[30]  # classes sharing a centre: some negatives are already hard
    images = torch.stack([centres[label] for label in labels]) + torch.randn(len(labels), 8, generator=gen)
    images[-1] = images[3] + 0.01  # a negative next to its anchor (triplet slot 3: kept)
    return objective, images, torch.tensor(labels)


def _slots(loss: str, batch: int) -> list[tuple[int, int, int]]:
    """(anchor, positive, negative) per slot, written out: the official triplet layout, or N-pair's pairs i ≠ j."""
    if loss == "triplet":
        t = batch // 3
        return [(i, t + i, 2 * t + i) for i in range(t)]
    n = batch // 2
    return [(i, n + i, n + j) for i in range(n) for j in range(n) if j != i]


def _ce(logits: torch.Tensor, targets: list[int]) -> torch.Tensor:
    return torch.stack([torch.logsumexp(row, 0) - row[t] for row, t in zip(logits, targets)]).mean()


def _base_loss(loss: str, z: torch.Tensor, negatives: list[torch.Tensor], slots: list[tuple[int, int, int]]) -> torch.Tensor:
    """The base loss per tuple with slot s's negative replaced by negatives[s]."""
    if loss == "triplet":
        hinges = [torch.relu((z[a] - z[p]).pow(2).sum() - (z[a] - q).pow(2).sum() + 1.0) for (a, p, _), q in zip(slots, negatives)]
        return torch.stack(hinges).mean()
    n = z.shape[0] // 2
    terms = []
    for i in range(n):
        s_ap = z[i] @ z[n + i]
        terms.append(torch.log(1 + sum(torch.exp(z[i] @ q - s_ap) for (a, _, _), q in zip(slots, negatives) if a == i)))
    penalty = 0.01 * sum(z[i].pow(2).sum() + z[n + i].pow(2).sum() for i in range(n)) / (2 * n)
    return torch.stack(terms).mean() + penalty


def _scratch(objective: HdmlObjective, loss: str, images: torch.Tensor, labels: torch.Tensor) -> dict[str, object]:
    """Every HDML term recomputed from the written-out pipeline on copies of the networks."""
    model, generator, classifier = (copy.deepcopy(net) for net in (objective.model, objective.generator, objective.classifier))
    scale = math.exp(-ALPHA / objective.j_avg.value)
    weight = math.exp(-BETA / objective.j_gen_avg.value)
    y = model.trunk(images)
    z = model.embedder(y)
    batch, slots = z.shape[0], _slots(loss, z.shape[0])
    pulled, kept = [], 0
    for a, p, q in slots:
        d_pos, d_neg = (z[a] - z[p]).norm(), (z[a] - z[q]).norm()
        kept += int(d_pos >= d_neg)
        pulled.append(z[a] + (d_pos + (d_neg - d_pos) * scale) / d_neg * (z[q] - z[a]) if d_pos < d_neg else z[q])
    generated = generator(torch.cat([z, torch.stack(pulled)]))
    z_syn = model.embedder(generated)
    j_m = _base_loss(loss, z, [z[q] for _, _, q in slots], slots)
    j_syn = _base_loss(loss, z_syn[:batch], list(z_syn[batch:]), slots)
    j_metric = weight * j_m + (1 - weight) * j_syn
    j_recon = (1 - LAMBDA) * (generated[:batch] - y).pow(2).sum()
    row = {label: index for index, label in enumerate(CLASSES)}
    label = [row[int(v)] for v in labels]
    if loss == "triplet":  # one group: the synthetic tuples [anchors; positives; pulled negatives]
        groups = [[a for a, _, _ in slots] + [p for _, p, _ in slots] + [batch + s for s in range(len(slots))]]
    else:  # the synthetic anchors; the n² candidates, the diagonal being the generated positive
        n = batch // 2
        candidates = [n + i if i == j else batch + slots.index((i, n + i, n + j)) for i in range(n) for j in range(n)]
        groups = [list(range(n)), candidates]
    targets = label + [label[q] for _, _, q in slots]
    j_soft = FACTOR * LAMBDA * sum(_ce(classifier(generated[g]), [targets[r] for r in g]) for g in groups)
    ce = _ce(classifier(y), label)
    metric_params = list(model.trunk.parameters()) + list(model.embedder.parameters())
    return {
        "values": {"j_m": j_m, "j_syn": j_syn, "j_metric": j_metric, "j_recon": j_recon, "j_soft": j_soft, "ce": ce},
        "metric": torch.autograd.grad(j_metric, metric_params, retain_graph=True),
        "generator": torch.autograd.grad(j_recon + j_soft, list(generator.parameters()), retain_graph=True),
        "classifier": torch.autograd.grad(ce, list(classifier.parameters())),
        "kept": kept,
    }


def _close(got: torch.Tensor | None, want: torch.Tensor) -> bool:
    assert got is not None
    return torch.allclose(got, want, rtol=2e-4, atol=1e-6 + 2e-5 * float(want.abs().max()))


@pytest.mark.parametrize("loss", ["triplet", "npair"])
def test_whole_step_matches_a_from_scratch_recomputation(loss: str) -> None:
    objective, images, labels = _objective(loss)
    objective.j_avg.value = ALPHA / math.log(2.0)  # e^(−α/J_avg) = ½: a real pull
    objective.j_gen_avg.value = BETA / math.log(4.0)  # e^(−β/J_gen) = ¼
    expected = _scratch(objective, loss, images, labels)
    sizes: list[int] = []
    hook = objective.model.embedder.register_forward_hook(lambda module, args, out: sizes.append(args[0].shape[0]))
    logged = objective.train_step(images, labels, 0)
    hook.remove()
    slots = len(_slots(loss, len(labels)))
    assert 0 < expected["kept"] < slots  # both branches of the pulling occur  # type: ignore[operator]
    assert sizes == [len(labels), len(labels) + slots]  # the real batch, then [y′; ỹ⁻] through the SAME embedder
    for name, value in expected["values"].items():  # type: ignore[union-attr]
        assert logged[name].item() == pytest.approx(value.item(), rel=1e-4), name
    assert logged["loss"].item() == pytest.approx(logged["j_m"].item())
    assert logged["j_gen"].item() == pytest.approx(logged["j_recon"].item() + logged["j_soft"].item(), rel=1e-6)
    model = objective.model
    for got, want in zip([p.grad for p in [*model.trunk.parameters(), *model.embedder.parameters()]], expected["metric"]):
        assert _close(got, want)  # J_metric, through the pulling and the generator
    for got, want in zip([p.grad for p in objective.generator.parameters()], expected["generator"]):
        assert _close(got, want)  # J_gen only
    for got, want in zip([p.grad for p in objective.classifier.parameters()], expected["classifier"]):
        assert _close(got, want)  # CE(y) only: J_soft reads the classifier, never moves it


@pytest.mark.parametrize("weighted", [True, False])
def test_block_means_follow_the_steps(weighted: bool) -> None:
    objective, images, labels = _objective("triplet", average_block=1, average_weighted=weighted)
    first = objective.train_step(images, labels, 0)
    weight = math.exp(-BETA / 1e6)  # the weight the step used: J_gen's initial average
    j_m = first["j_m"].item()
    assert objective.j_avg.value == pytest.approx(weight * j_m if weighted else j_m, rel=1e-6)
    assert objective.j_gen_avg.value == pytest.approx(first["j_gen"].item(), rel=1e-6)
    second = objective.train_step(images, labels, 1)
    averaged = first["w_m"].item() * j_m if weighted else j_m
    assert second["pull"].item() == pytest.approx(math.exp(-ALPHA / averaged), rel=1e-5)
    assert second["w_m"].item() == pytest.approx(math.exp(-BETA / first["j_gen"].item()), rel=1e-5)


def test_state_round_trips_and_refuses_other_classes() -> None:
    objective, images, labels = _objective("npair", average_block=3)
    for step in range(2):
        objective.train_step(images, labels, step)
    state = objective.state_dict()
    assert state["j_avg"]["pending"] and len(state["j_gen_avg"]["pending"]) == 2
    twin, _, _ = _objective("npair", average_block=3)
    twin.load_state_dict(state)
    assert twin.j_avg.state_dict() == objective.j_avg.state_dict()
    assert all(torch.equal(a, b) for a, b in zip(twin.classifier.state_dict().values(), objective.classifier.state_dict().values()))
    with pytest.raises(CheckpointError, match="other training classes"):
        SoftmaxClassifier([1, 2, 3], 16).load_state_dict(objective.classifier.state_dict())


def test_npair_candidates_are_all_pairs_with_the_positive_on_the_diagonal() -> None:
    """N/2 = 4 classes: 16 candidates (a_i, p_j); the diagonal ones are the positives themselves."""
    loss = NPairLoss()
    labels = torch.tensor([7, 3, 9, 5, 7, 3, 9, 5])
    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tuples = loss.mine(labels)
    slots = loss.negative_slots(tuples)
    pulled = pull_negatives(z[slots.anchor], z[slots.positive], z[slots.negative], 0.4)
    # The authors' construction: anchor i tiled against every positive j, pulled with d⁺ = d(a_i, p_i).
    anchors, positives = z[tuples.anchor], z[tuples.positive]
    candidates = {}
    for i in range(4):
        for j in range(4):
            a, p, q = anchors[i], positives[i], positives[j]
            d_pos, d_neg = (a - p).norm(), (a - q).norm()
            candidates[i, j] = a + (d_pos + (d_neg - d_pos) * 0.4) / d_neg * (q - a) if d_pos < d_neg else q
    assert len(candidates) == 16
    assert all(torch.equal(candidates[i, i], positives[i]) for i in range(4))
    assert torch.equal(pull_negatives(anchors, positives, positives, 0.4), positives)
    off = [candidates[i, j] for i in range(4) for j in range(4) if i != j]
    assert torch.allclose(pulled, torch.stack(off), atol=1e-12)
    anchor_rows, candidate_rows = soft_groups("npair", tuples, slots, batch=8)
    assert anchor_rows.tolist() == tuples.anchor.tolist() and candidate_rows.shape == (16,)
    grid = candidate_rows.view(4, 4)
    assert grid.diagonal().tolist() == tuples.positive.tolist()
    assert grid[~torch.eye(4, dtype=torch.bool)].tolist() == list(range(8, 8 + 12))


def test_registry_and_refusals() -> None:
    assert METHODS["hdml"] is HdmlObjective
    with pytest.raises(ConfigError, match="'synthesis=hdml' cannot use loss 'proxy_anchor'"):
        check_hdml_config(RunConfig(synthesis="hdml", loss=LossConfig(name="proxy_anchor")))
    for key, value in (("alpha", -1.0), ("beta", float("nan")), ("lambda_gen", 1.5), ("average_block", 0), ("lr_classifier", -1e-3)):
        with pytest.raises(ConfigError, match=f"'hdml.{key}'"):
            check_hdml_config(RunConfig(synthesis="hdml", hdml=HdmlConfig(**{key: value})))  # type: ignore[arg-type]

"""DAML's objective on tiny random models: J_adv's sign, the space of each term, every J_m against a plain
loop, gradient routing of `joint` and `alternating`, the phases, the baseline when disabled, the diagnostics
and the collapse warning."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch
from torch import nn

from daml_cli.config.schema import DamlConfig, LossConfig, OptimConfig, RunConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.methods.daml import DamlObjective
from daml_cli.train.methods.diagnostics import synthetic_diagnostics
from daml_cli.train.methods.plain import BaselineObjective
from daml_cli.train.mining_rng import mining_rng
from daml_cli.train.registry import build_objective

LABELS = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2])  # three classes of three, interleaved


def _config(loss: str = "triplet", *, margin: float = 0.5, **daml: object) -> RunConfig:
    return RunConfig(
        seed=3,
        loss=LossConfig(name=loss, margin=margin, triplets="all", lifted_margin=0.7, l2_reg=0.01),
        optim=OptimConfig(lr_trunk=1e-2, lr_embedder=1e-2, lr_generator=1e-2),
        daml=DamlConfig(enabled=True, **daml),  # type: ignore[arg-type]
    )


def _model(normalize: bool = True, seed: int = 0) -> EmbeddingModel:
    """Inputs are 5-d vectors; trunk Linear+ReLU to 6-d features; embedder Linear to 4-d embeddings."""
    torch.manual_seed(seed)
    trunk = nn.Sequential(nn.Linear(5, 6), nn.ReLU())
    return EmbeddingModel(trunk, nn.Identity(), nn.Linear(6, 4), 6, 4, normalize)


def _images(seed: int = 1, n: int = 9, d: int = 5) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def _objective(config: RunConfig, model: EmbeddingModel | None = None) -> DamlObjective:
    model = model or _model()
    return DamlObjective(model, build_loss(config.loss), config)


class Stub(nn.Module):
    """A stand-in generator: `from_batch` (what the objective calls) gathers the rows and calls `forward`."""

    def from_batch(self, features: torch.Tensor, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor):  # type: ignore[no-untyped-def]
        return self(features[negative], features[anchor], features[positive])


class Recording(nn.Module):
    """Wraps a generator and keeps (negative, anchor, positive, synthetic) of the last call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.last: tuple[torch.Tensor, ...] = ()

    def from_batch(self, features: torch.Tensor, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor):  # type: ignore[no-untyped-def]
        out = self.inner.from_batch(features, negative, anchor, positive)
        self.last = (features[negative], features[anchor], features[positive], out)
        return out


class Fixed(Stub):
    """A generator returning anchor + t·(negative − anchor) (t = 1: the real negative, t = 0: the anchor)."""

    def __init__(self, t: float) -> None:
        super().__init__()
        self.t = t
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
        return self.scale * (anchor + self.t * (negative - anchor))


def _sq(u: torch.Tensor, v: torch.Tensor) -> float:
    return float(((u - v) ** 2).sum())


# -- J_adv's sign and the space of each term ---------------------------------------------------------------
def _scaled_identity_model() -> EmbeddingModel:
    """features = inputs (4-d), f(x) = 2x, no normalisation: embedding distances are twice feature ones."""
    embedder = nn.Linear(4, 4)
    with torch.no_grad():
        embedder.weight.copy_(2.0 * torch.eye(4))
        embedder.bias.zero_()
    return EmbeddingModel(nn.Identity(), nn.Identity(), embedder, 4, 4, normalize=False)


def test_adv_is_positive_for_an_easy_negative_and_zero_for_a_hard_one() -> None:
    """Generator frozen to output x⁻: d_an² > d_ap² + α must give J_adv > 0 (the margin's sign in J_adv is the opposite of the triplet loss's)."""
    config = _config(adv_margin=1.0)
    objective = _objective(config, _scaled_identity_model())
    objective.generator = Fixed(1.0)
    labels = torch.tensor([0, 0, 1])
    anchor, positive = [0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0]
    far = torch.tensor([anchor, positive, [0.0, 2.0, 0.0, 0.0]])  # f-space: d_ap² = 1, d_an² = 16, 12
    terms = objective.forward_terms(far, labels, 0)
    # slots (all triplets): (a0, p1, n2) and (a1, p0, n2); f-space d² = 4·feature d².
    expected = [max(4 * 4.0 - 4 * 0.25 - 1.0, 0.0), max(4 * _sq(far[1], far[2]) - 4 * 0.25 - 1.0, 0.0)]
    assert terms.j_adv.item() == pytest.approx(sum(expected) / 2)
    assert terms.j_adv.item() > 0 and terms.diagnostics["adv_active"].item() == 1.0
    near = far.clone()
    near[2] = torch.tensor([0.25, 0.1, 0.0, 0.0])  # nearer to both than the positive: no J_adv
    terms = objective.forward_terms(near, labels, 0)
    assert terms.j_adv.item() == 0.0 and terms.diagnostics["adv_active"].item() == 0.0


def test_hard_and_reg_use_features_adv_and_metric_use_embeddings() -> None:
    """f doubles every distance, so a term computed in the wrong space is off by a factor of 4."""
    config = _config(adv_margin=0.3)
    objective = _objective(config, _scaled_identity_model())
    t = 0.25
    objective.generator = Fixed(t)
    images = _images(seed=4, d=4)
    terms = objective.forward_terms(images, LABELS, 0)
    slots = objective.negative_miner.negative_slots(objective.negative_miner.mine(LABELS, 2 * images, None))
    x, n, p = images[slots.anchor], images[slots.negative], images[slots.positive]
    syn = x + t * (n - x)
    count = len(slots)
    hard = sum(_sq(syn[s], x[s]) for s in range(count)) / count
    reg = sum(_sq(syn[s], n[s]) for s in range(count)) / count
    adv = sum(max(4 * _sq(syn[s], x[s]) - 4 * _sq(p[s], x[s]) - 0.3, 0.0) for s in range(count)) / count
    metric = sum(max(4 * _sq(p[s], x[s]) - 4 * _sq(syn[s], x[s]) + 0.5, 0.0) for s in range(count)) / count
    assert terms.j_hard.item() == pytest.approx(hard, rel=1e-5)
    assert terms.j_reg.item() == pytest.approx(reg, rel=1e-5)
    assert terms.j_adv.item() == pytest.approx(adv, rel=1e-5)
    assert terms.j_m.loss.item() == pytest.approx(metric, rel=1e-5)
    assert terms.j_gen.item() == pytest.approx(hard + 1.0 * reg + 50.0 * adv, rel=1e-5)
    assert terms.diagnostics["syn_to_anchor"].item() == pytest.approx(t, rel=1e-5)
    assert terms.diagnostics["syn_to_negative"].item() == pytest.approx(1 - t, rel=1e-5)


# -- J_m of every loss against a plain loop ----------------------------------------------------------------
def _loop_triplet(emb, slots, syn_emb, margin):  # type: ignore[no-untyped-def]
    values = [
        max(_sq(emb[a], emb[p]) - _sq(emb[a], syn_emb[s]) + margin, 0.0)
        for s, (a, p) in enumerate(zip(slots.anchor.tolist(), slots.positive.tolist()))
    ]
    return sum(values) / len(values)


def _loop_npair(emb, tuples, slots, syn_emb, images_negatives, l2_reg):  # type: ignore[no-untyped-def]
    total, norms = 0.0, 0.0
    anchors, positives = tuples.anchor.tolist(), tuples.positive.tolist()
    for a, p in zip(anchors, positives):
        mine = [s for s in range(len(slots)) if int(slots.anchor[s]) == a]
        assert len(mine) == len(anchors) - 1  # one synthetic per other class
        assert sorted(int(slots.negative[s]) for s in mine) == sorted(q for q in positives if q != p)
        s_ap = float(emb[a] @ emb[p])
        total += math.log(1 + sum(math.exp(float(emb[a] @ syn_emb[s]) - s_ap) for s in mine))
        norms += float(emb[a] @ emb[a]) + float(emb[p] @ emb[p])
    return total / len(anchors) + l2_reg * norms / (2 * len(anchors))


def _loop_lifted(emb, labels, slots, syn_emb, margin):  # type: ignore[no-untyped-def]
    b, values = len(labels), []
    for i in range(b):
        for j in range(i + 1, b):
            if labels[i] != labels[j]:
                continue
            side = [s for s in range(len(slots)) if (int(slots.anchor[s]), int(slots.positive[s])) in ((i, j), (j, i))]
            assert len(side) == 2 * int((labels != labels[i]).sum())  # every negative of i and of j
            inner = math.log(sum(math.exp(margin - math.sqrt(_sq(emb[slots.anchor[s]], syn_emb[s]))) for s in side))
            values.append(max(inner + math.sqrt(_sq(emb[i], emb[j])), 0.0) ** 2)
    return sum(values) / (2 * len(values))


def _loop_contrastive(emb, labels, slots, syn_emb, margin):  # type: ignore[no-untyped-def]
    b = len(labels)
    positives = [_sq(emb[i], emb[j]) for i in range(b) for j in range(i + 1, b) if labels[i] == labels[j]]
    negatives = [max(margin - _sq(emb[slots.anchor[s]], syn_emb[s]), 0.0) for s in range(len(slots))]
    assert len(negatives) == sum(labels[i] != labels[j] for i in range(b) for j in range(i + 1, b))
    return (sum(positives) + sum(negatives)) / (len(positives) + len(negatives))


def _loop_multi_similarity(emb, labels, slots, syn_emb, alpha=2.0, beta=50.0, base=0.5, eps=0.1):  # type: ignore[no-untyped-def]
    # The official MS form, one anchor at a time: pairs mined on the real cosines, S_ik of each mined
    # negative pair taken with the synthetic negative of its slot.
    cos = lambda u, v: float(u @ v) / (float(u.norm()) * float(v.norm()))  # noqa: E731
    synthetic = {(int(a), int(n)): syn_emb[s] for s, (a, n) in enumerate(zip(slots.anchor, slots.negative))}
    b, total = len(labels), 0.0
    for i in range(b):
        sims = [cos(emb[i], emb[j]) for j in range(b)]
        pos = [j for j in range(b) if labels[j] == labels[i] and sims[j] < 1 - 1e-5]
        neg = [k for k in range(b) if labels[k] != labels[i]]
        kept_neg = [k for k in neg if sims[k] + eps > min(sims[j] for j in pos)]
        kept_pos = [j for j in pos if sims[j] - eps < max(sims[k] for k in neg)]
        if not kept_pos or not kept_neg:
            continue
        assert all((i, k) in synthetic for k in kept_neg)  # one slot per mined negative pair
        total += math.log(1 + sum(math.exp(-alpha * (sims[j] - base)) for j in kept_pos)) / alpha
        total += math.log(1 + sum(math.exp(beta * (cos(emb[i], synthetic[(i, k)]) - base)) for k in kept_neg)) / beta
    assert len(synthetic) == len(slots)
    return total / b


@pytest.mark.parametrize("loss", ["triplet", "npair", "lifted", "contrastive", "multi_similarity"])
@pytest.mark.parametrize("update", ["joint", "alternating"])
def test_j_m_and_j_gen_match_plain_loops(loss: str, update: str) -> None:
    config = _config(loss, margin=1.5, update=update, adv_margin=0.2)
    objective = _objective(config)
    objective.generator = Recording(objective.generator)
    images = _images()
    terms = objective.forward_terms(images, LABELS, 5)
    negative, anchor, positive, synthetic = (t.detach() for t in objective.generator.last)
    with torch.no_grad():
        features = objective.model.features(images)
        emb = objective.model.embed_features(features)
        syn_emb = objective.model.embed_features(synthetic)
    tuples = objective.negative_miner.mine(LABELS, emb, mining_rng(config.seed, 5))
    slots = objective.negative_miner.negative_slots(tuples)
    assert torch.equal(negative, features[slots.negative]) and torch.equal(anchor, features[slots.anchor])
    assert torch.equal(positive, features[slots.positive])
    if loss == "triplet":
        expected = _loop_triplet(emb, slots, syn_emb, 1.5)
    elif loss == "npair":
        expected = _loop_npair(emb, tuples, slots, syn_emb, negative, 0.01)
    elif loss == "lifted":
        expected = _loop_lifted(emb, LABELS, slots, syn_emb, 0.7)
    elif loss == "multi_similarity":
        expected = _loop_multi_similarity(emb, LABELS, slots, syn_emb)
    else:
        expected = _loop_contrastive(emb, LABELS, slots, syn_emb, 1.5)
    assert terms.j_m.loss.item() == pytest.approx(expected, rel=1e-5)
    count = len(slots)
    e_anchor, e_positive = emb[slots.anchor], emb[slots.positive]
    hard = sum(_sq(synthetic[s], anchor[s]) for s in range(count)) / count
    reg = sum(_sq(synthetic[s], negative[s]) for s in range(count)) / count
    adv = sum(max(_sq(syn_emb[s], e_anchor[s]) - _sq(e_positive[s], e_anchor[s]) - 0.2, 0.0) for s in range(count)) / count
    assert (terms.j_hard.item(), terms.j_reg.item()) == (pytest.approx(hard, rel=1e-5), pytest.approx(reg, rel=1e-5))
    assert terms.j_adv.item() == pytest.approx(adv, rel=1e-5, abs=1e-7)


# -- gradient routing --------------------------------------------------------------------------------------
def _grads(params: list[nn.Parameter]) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]


def _expected(output: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(output, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, rtol=1e-4, atol=1e-7) for x, y in zip(a, b))


@pytest.mark.parametrize("loss", ["triplet", "npair"])
@pytest.mark.parametrize("update", ["joint", "alternating"])
@pytest.mark.parametrize("detach_real", [True, False])
def test_gradient_routing(loss: str, update: str, detach_real: bool) -> None:
    """alternating: G gets ∇J_gen only, the metric ∇(λ·J_m) only; joint: both get ∇(J_gen + λ·J_m)."""
    weights = {"lambda_metric": 0.7, "lambda_adv": 5.0, "adv_margin": 0.0, "detach_real": detach_real}
    config = _config(loss, margin=1.5, update=update, **weights)
    objective = _objective(config)
    objective.metric_optimizer.step = lambda *a, **k: None  # type: ignore[method-assign]
    objective.generator_optimizer.step = lambda *a, **k: None  # type: ignore[method-assign]
    images = _images(seed=7)
    objective.train_step(images, LABELS, 2)
    gen_params, metric_params = list(objective.generator.parameters()), list(objective.model.parameters())
    got_gen, got_metric = _grads(gen_params), _grads(metric_params)

    objective.generator = Recording(objective.generator)
    terms = objective.forward_terms(images, LABELS, 2)  # same parameters, same mining: the same forward
    j_gen, j_m = terms.j_gen, 0.7 * terms.j_m.loss
    # The metric's J_m with x̃ detached, built here rather than read from the objective.
    embeddings = objective.model(images)
    tuples = objective.negative_miner.mine(LABELS, embeddings.detach(), mining_rng(config.seed, 2))
    synthetic = objective.generator.last[3]
    fixed_synthetic = objective.model.embed_features(synthetic.detach())
    j_m_detached = 0.7 * objective.negative_miner.compute(embeddings, tuples, fixed_synthetic).loss
    j_m_attached = 0.7 * objective.negative_miner.compute(embeddings, tuples, objective.model.embed_features(synthetic)).loss
    # Without detach_real, x̃ depends on the trunk through G's inputs, so detaching it matters to the metric.
    assert _same(_expected(j_m_detached, metric_params), _expected(j_m_attached, metric_params)) == detach_real
    # Each term must reach the "wrong" side in the joint objective, or this test could not fail.
    joint_config = _config(loss, margin=1.5, update="joint", **weights)
    joint = _objective(joint_config, objective.model)
    joint.generator = objective.generator
    joint_terms = joint.forward_terms(images, LABELS, 2)
    assert not _same(_expected(0.7 * joint_terms.j_m.loss, gen_params), [torch.zeros_like(p) for p in gen_params])
    assert not _same(_expected(joint_terms.j_gen, metric_params), [torch.zeros_like(p) for p in metric_params])
    if update == "alternating":
        assert _same(got_gen, _expected(j_gen, gen_params))
        assert _same(got_metric, _expected(j_m_detached, metric_params))
        assert not _same(got_gen, _expected(j_gen + 0.7 * joint_terms.j_m.loss, gen_params))
    else:
        assert _same(got_gen, _expected(j_gen + j_m, gen_params))
        assert _same(got_metric, _expected(j_gen + j_m, metric_params))


# -- phases and the baseline -------------------------------------------------------------------------------
def _adam_loop(model: EmbeddingModel, config: RunConfig, batches: list[torch.Tensor]) -> list[float]:
    """The baseline written out: model(images) -> base loss on real tuples -> Adam step."""
    loss = build_loss(config.loss)
    optimizer = torch.optim.Adam(
        [{"params": model.trunk.parameters(), "lr": config.optim.lr_trunk},
         {"params": model.embedder.parameters(), "lr": config.optim.lr_embedder}]
    )
    values = []
    for step, images in enumerate(batches):
        output = loss(model(images), LABELS, mining_rng(config.seed, step))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        values.append(output.loss.item())
    return values


@pytest.mark.parametrize("loss", ["triplet", "npair", "lifted", "contrastive"])
def test_disabled_and_pretraining_reproduce_the_baseline_exactly(loss: str) -> None:
    config = _config(loss, margin=1.0, pretrain_iters=3)
    # Random mining everywhere it exists, so the per-step mining seed matters too.
    config.loss = dataclasses.replace(config.loss, triplets="random", max_negatives=2)
    batches = [_images(seed=s) for s in range(3)]
    reference = _model()
    expected = _adam_loop(reference, config, batches)

    disabled = dataclasses.replace(config, daml=DamlConfig(enabled=False))
    baseline_model = _model()
    baseline = build_objective(baseline_model, build_loss(config.loss), disabled)
    assert isinstance(baseline, BaselineObjective)
    daml_model = _model()
    daml = build_objective(daml_model, build_loss(config.loss), config)
    assert isinstance(daml, DamlObjective)
    for step, images in enumerate(batches):
        assert daml.stage(step) == "pretrain"
        assert baseline.train_step(images, LABELS, step)["loss"].item() == expected[step]
        assert daml.train_step(images, LABELS, step)["loss"].item() == expected[step]
    for mine, theirs in zip(daml_model.parameters(), reference.parameters()):
        assert torch.equal(mine, theirs)
    for mine, theirs in zip(baseline_model.parameters(), reference.parameters()):
        assert torch.equal(mine, theirs)


def test_schedule_pretrain_then_generator_warmup_then_joint() -> None:
    config = _config(pretrain_iters=1, gen_warmup_iters=2)
    objective = _objective(config)
    assert [objective.stage(s) for s in range(5)] == ["pretrain", "gen_warmup", "gen_warmup", "joint", "joint"]
    images = _images()
    snapshot = lambda module: [p.detach().clone() for p in module.parameters()]  # noqa: E731
    gen_before, metric_before = snapshot(objective.generator), snapshot(objective.model)
    objective.train_step(images, LABELS, 0)  # pretrain: the metric moves, the generator does not
    assert _same(snapshot(objective.generator), gen_before) and not _same(snapshot(objective.model), metric_before)
    gen_before, metric_before = snapshot(objective.generator), snapshot(objective.model)
    logged = objective.train_step(images, LABELS, 1)  # warm-up: only the generator moves, on J_gen
    assert not _same(snapshot(objective.generator), gen_before)
    assert all(torch.equal(a, b) for a, b in zip(snapshot(objective.model), metric_before))
    assert logged["j"].item() == pytest.approx(logged["j_gen"].item())
    gen_before, metric_before = snapshot(objective.generator), snapshot(objective.model)
    objective.train_step(images, LABELS, 3)  # joint: both move
    assert not _same(snapshot(objective.generator), gen_before) and not _same(snapshot(objective.model), metric_before)


class Constant(Stub):
    """A generator that ignores its inputs: gradients of its output reach only its own parameter."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.linspace(-1.0, 1.0, width))

    def forward(self, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
        return self.value.expand(negative.shape[0], -1)


@pytest.mark.parametrize("detach_real", [True, False])
@pytest.mark.parametrize("generator", ["constant", "mlp3"])
def test_detach_real_keeps_hard_and_reg_off_the_metric(detach_real: bool, generator: str) -> None:
    """With detach_real, J_hard/J_reg move only G: not through their targets (a generator that ignores its
    inputs) and not through G's inputs (the real generator) either."""
    objective = _objective(_config(detach_real=detach_real))
    if generator == "constant":
        objective.generator = Constant(6)
    terms = objective.forward_terms(_images(), LABELS, 0)
    params = list(objective.model.trunk.parameters())
    zero = [torch.zeros_like(p) for p in params]
    gen_params = list(objective.generator.parameters())
    for term in (terms.j_hard, terms.j_reg):
        assert _same(_expected(term, params), zero) == detach_real
        assert not _same(_expected(term, gen_params), [torch.zeros_like(p) for p in gen_params])
    # J_adv and J_m still train the metric in the joint objective.
    assert not _same(_expected(terms.j_adv + terms.j_m.loss, params), zero)


def test_joint_trunk_learning_rate_is_scaled() -> None:
    objective = _objective(_config(joint_trunk_lr_scale=0.001))
    objective.train_step(_images(), LABELS, 0)
    groups = {g["name"]: g["lr"] for g in objective.metric_optimizer.param_groups}
    assert groups == {"trunk": pytest.approx(1e-5), "embedder": pytest.approx(1e-2)}


# -- options -----------------------------------------------------------------------------------------------
def test_logged_terms_add_up_and_keep_real_loss_adds_the_real_triplets() -> None:
    config = _config(margin=1.5, lambda_metric=0.5)
    logged = _objective(config).train_step(_images(), LABELS, 0)
    for key in ("j_hard", "j_reg", "j_adv", "j_gen", "j_m", "syn_to_anchor", "syn_to_negative", "adv_active"):
        assert key in logged and math.isfinite(logged[key].item())
    assert "real" not in logged
    assert logged["j"].item() == pytest.approx(logged["j_gen"].item() + 0.5 * logged["j_m"].item(), rel=1e-6)
    assert logged["loss"].item() == pytest.approx(0.5 * logged["j_m"].item(), rel=1e-6)

    keep = _config(margin=1.5, lambda_metric=0.5, keep_real_loss=True)
    objective = _objective(keep)
    images = _images()
    terms = objective.forward_terms(images, LABELS, 0)
    with torch.no_grad():
        emb = objective.model(images)
    slots = objective.loss.negative_slots(objective.loss.mine(LABELS, emb, mining_rng(keep.seed, 0)))
    real = _loop_triplet(emb, slots, emb[slots.negative], 1.5)
    assert terms.real is not None and terms.real.loss.item() == pytest.approx(real, rel=1e-5)
    logged = objective.train_step(images, LABELS, 0)
    assert logged["j"].item() == pytest.approx(
        logged["j_gen"].item() + 0.5 * logged["j_m"].item() + logged["real"].item(), rel=1e-6
    )
    assert logged["loss"].item() == pytest.approx(0.5 * logged["j_m"].item() + logged["real"].item(), rel=1e-6)


def test_easy_option_feeds_the_farthest_negative_to_the_generator() -> None:
    config = dataclasses.replace(_config(negatives="easy"), loss=LossConfig(triplets="semihard", margin=0.2))
    objective = _objective(config)
    objective.generator = Recording(objective.generator)
    images = _images()
    objective.forward_terms(images, LABELS, 0)
    negative, anchor, _, _ = objective.generator.last
    with torch.no_grad():
        features = objective.model.features(images)
        emb = objective.model.embed_features(features)
    assert negative.shape[0] == 9 * 2  # one negative per ordered (anchor, positive) pair
    for row in range(negative.shape[0]):
        a = int((features == anchor[row]).all(dim=1).nonzero()[0])
        n = int((features == negative[row]).all(dim=1).nonzero()[0])
        others = (LABELS != LABELS[a]).nonzero().flatten()
        distances = ((emb[others] - emb[a]) ** 2).sum(dim=1)
        assert n == int(others[distances.argmax()])


def test_negatives_option_is_rejected_for_other_losses() -> None:
    with pytest.raises(ConfigError, match="daml.negatives"):
        _objective(_config("npair", negatives="easy"))
    with pytest.raises(ConfigError, match="lambda_adv"):
        _objective(_config(lambda_adv=-1.0))


# -- diagnostics and the collapse warning ------------------------------------------------------------------
def test_diagnostics_of_an_interpolation() -> None:
    gen = torch.Generator().manual_seed(0)
    anchor, negative = torch.randn(7, 3, generator=gen), torch.randn(7, 3, generator=gen)
    hinge = torch.tensor([0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 3.0])
    out = synthetic_diagnostics(anchor + 0.3 * (negative - anchor), anchor, negative, hinge)
    assert out["syn_to_anchor"].item() == pytest.approx(0.3, rel=1e-5)
    assert out["syn_to_negative"].item() == pytest.approx(0.7, rel=1e-5)
    assert out["adv_active"].item() == pytest.approx(3 / 7)


def test_collapse_warning_fires_once_for_a_generator_that_returns_the_anchor() -> None:
    objective = _objective(_config(on_collapse="warn"))
    objective.generator = Fixed(0.0)
    images = _images()
    logged = objective.train_step(images, LABELS, 0)
    assert logged["syn_to_anchor"].item() == pytest.approx(0.0, abs=1e-6)
    warnings = objective.drain_warnings()
    assert len(warnings) == 1 and "collapsed onto their anchors" in warnings[0] and "step 1" in warnings[0]
    assert objective.drain_warnings() == []
    objective.train_step(images, LABELS, 1)
    assert objective.drain_warnings() == []  # once per run, not every step

    healthy = _objective(_config())
    healthy.generator = Fixed(0.5)
    logged = healthy.train_step(images, LABELS, 0)
    assert logged["syn_to_anchor"].item() == pytest.approx(0.5, rel=1e-5)
    assert healthy.drain_warnings() == []


def test_state_round_trip_restores_the_generator() -> None:
    objective = _objective(_config())
    objective.train_step(_images(), LABELS, 0)
    fresh = _objective(_config(), copy.deepcopy(objective.model))
    fresh.load_state_dict(objective.state_dict())
    for a, b in zip(fresh.generator.parameters(), objective.generator.parameters()):
        assert torch.equal(a, b)

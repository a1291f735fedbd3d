"""DAML's training step: synthetic hard negatives from the generator, trained adversarially with the metric.

Schedule (``daml.*``): ``pretrain_iters`` steps of the plain base loss, then ``gen_warmup_iters`` steps that
train only the generator on J_gen, then the joint phase. In the joint phase every real negative the base
loss uses becomes ``x̃ = G([x⁻; x; x⁺])`` (features), and

    J_gen = J_hard + λ1·J_reg + λ2·h·J_adv        J = J_gen + λ·h·J_m (+ real base loss if keep_real_loss)

with J_m the base loss evaluated on the embeddings of the synthetic negatives and h = ½ with
``half_hinge`` (the authors' code), else 1. Pre-training minimises the base loss on the embeddings, or with
``pretrain_on: features`` on the features with the metric untouched (the authors' code). A step whose
synthetics collapsed onto their anchors goes to train/collapse.py's guard (``on_collapse``). ``update: joint`` runs one
backward of J into every parameter (the paper's objective); ``alternating`` gives the generator only the
gradient of J_gen and the metric (trunk + embedder) only that of J_m, with synthetics detached. Both
gradients come from the same forward pass and both optimisers then step (a simultaneous, not sequential,
alternation: it costs one forward instead of two). Under data parallelism each rank embeds its share of the
batch with the trunk, then all ranks gather the features and compute the same global-batch terms.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from daml_cli.config.schema import DamlConfig, RunConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, TupleLoss
from daml_cli.losses.daml_terms import adv_hinge, j_adv, j_gen, j_hard, j_reg
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel, freeze_batchnorm
from daml_cli.models.generator import HardNegativeGenerator
from daml_cli.train.collapse import CollapseGuard
from daml_cli.train.context import StepContext
from daml_cli.train.objective import BaselineObjective, metric_optimizer, mining_generator


DIAGNOSTIC_SLOTS = 512  # about this many slots per batch enter the logged diagnostics


@dataclasses.dataclass
class DamlTerms:
    """Everything one DAML forward pass produces (tensors attached to the graph)."""

    j_hard: torch.Tensor
    j_reg: torch.Tensor
    j_adv: torch.Tensor
    j_gen: torch.Tensor
    j_m: LossOutput
    real: LossOutput | None
    diagnostics: dict[str, torch.Tensor]


def j_m(loss: TupleLoss, embeddings: torch.Tensor, tuples: Any, synthetic_emb: torch.Tensor) -> LossOutput:
    """``J_m``: the base loss on the batch's tuples with every real negative replaced by its synthetic one.

    `synthetic_emb` holds ``f(x̃)`` for each negative slot of `tuples`, in `loss.negative_slots` order.
    """
    return loss.compute(embeddings, tuples, negatives=synthetic_emb)


def synthetic_diagnostics(
    synthetic: torch.Tensor, anchor: torch.Tensor, negative: torch.Tensor, hinge: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Mean ``||x̃−x|| / ||x−x⁻||`` and ``||x̃−x⁻|| / ||x−x⁻||`` per tuple, and the fraction of active J_adv.

    Feature-space rows i of `synthetic`, `anchor`, `negative` form one tuple; `hinge` is J_adv's per-tuple
    hinge. ``syn_to_anchor`` near 0 means the synthetics collapsed onto their anchors (label noise); an
    interpolation ``x + t(x⁻ − x)`` gives ``syn_to_anchor = t`` and ``syn_to_negative = 1 − t``.
    """
    with torch.no_grad():
        if synthetic.shape[0] == 0:
            zero = synthetic.new_zeros(())
            return {"syn_to_anchor": zero, "syn_to_negative": zero, "adv_active": zero}
        scale = (anchor - negative).norm(dim=1).clamp_min(1e-12)
        return {
            "syn_to_anchor": ((synthetic - anchor).norm(dim=1) / scale).mean(),
            "syn_to_negative": ((synthetic - negative).norm(dim=1) / scale).mean(),
            "adv_active": (hinge > 0).to(synthetic.dtype).mean(),
        }


def check_daml_config(daml: DamlConfig, loss_name: str) -> None:
    """Reject settings the objective cannot honour, naming the key (ConfigError)."""
    for key in ("pretrain_iters", "gen_warmup_iters", "generator_hidden"):
        if getattr(daml, key) < 0:
            raise ConfigError(f"'daml.{key}' must be >= 0, got {getattr(daml, key)}")
    for key in ("lambda_reg", "lambda_adv", "lambda_metric", "joint_trunk_lr_scale", "collapse_threshold"):
        if getattr(daml, key) < 0:
            raise ConfigError(f"'daml.{key}' must be >= 0, got {getattr(daml, key)}")
    if daml.negatives != "loss" and loss_name != "triplet":
        raise ConfigError(
            f"'daml.negatives={daml.negatives}' only applies to the triplet loss",
            f"{loss_name} already feeds every negative of the batch to the generator; use daml.negatives=loss",
        )


class DamlObjective:
    """Base loss + DAML generator; see the module docstring for the phases and update schemes."""

    def __init__(self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None) -> None:
        check_daml_config(config.daml, config.loss.name)
        self.context = context or StepContext()  # precision, data parallelism, section timer
        self.model = model
        self.loss = loss
        self.config = config
        self.daml = config.daml
        self.generator_loss = self._generator_feed_loss(loss, config)
        device = next(model.parameters()).device
        self.generator = HardNegativeGenerator(
            model.feature_dim, self.daml.generator_hidden, self.daml.generator, self.daml.input_order, self.daml.generator_relu
        ).to(device)
        self.metric_optimizer = metric_optimizer(model, config)
        pretrain_embed = model.features if self.daml.pretrain_on == "features" else None
        self._pretrain = BaselineObjective(model, loss, config, self.context, self.metric_optimizer, pretrain_embed)
        self.generator_optimizer = torch.optim.Adam(
            self.generator.parameters(), lr=config.optim.lr_generator, weight_decay=config.optim.weight_decay
        )
        self.warnings: list[str] = []
        self.guard = CollapseGuard(self.daml.collapse_threshold, self.daml.on_collapse)

    @staticmethod
    def _generator_feed_loss(loss: TupleLoss, config: RunConfig) -> TupleLoss:
        """The base loss that mines the real negatives fed to the generator (triplet: easy/random option)."""
        if config.daml.negatives == "loss":
            return loss
        return build_loss(dataclasses.replace(config.loss, triplets=config.daml.negatives))

    def stage(self, step: int) -> str:
        """The phase name reported with every logged step (progress bar, ``metrics.jsonl`` ``stage``)."""
        return self.phase(step)

    def phase(self, step: int) -> str:
        """``pretrain``, ``gen_warmup`` or ``joint`` for the 0-based `step`."""
        if step < self.daml.pretrain_iters:
            return "pretrain"
        if step < self.daml.pretrain_iters + self.daml.gen_warmup_iters:
            return "gen_warmup"
        return "joint"

    # -- forward -----------------------------------------------------------------------------------
    def forward_terms(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> DamlTerms:
        """All DAML terms for one batch (no backward, no optimiser step).

        Spaces: J_hard and J_reg compare features (the generator's space); J_adv and J_m compare embeddings
        ``f(·)``, the synthetic ones obtained by `embed_features`. Mixing them would compare a synthetic
        feature with an embedding, two vectors of different spaces (and often of different sizes).
        """
        daml, precision, distributed = self.daml, self.context.precision, self.context.distributed
        with self.context.timer.section("forward"), precision.autocast():
            local_features = self.model.features(images)
        # Data parallel: every rank gathers the global batch's features and runs the embedder, the generator
        # and every term on it in float32, exactly as one process would (see train/distributed.py).
        timer = self.context.timer
        with timer.section("loss"):
            features = distributed.gather(local_features.float())
            labels = distributed.gather_labels(labels)
            embeddings = self.model.embed_features(features)
            rng = mining_generator(self.config.seed, step)
            tuples = self.generator_loss.mine(labels, embeddings.detach(), rng)
            slots = self.generator_loss.negative_slots(tuples)
        # detach_real: the generator reads and fits the real features but never moves them. Detaching only the J_hard/J_reg targets is not enough: through G's inputs the trunk would still
        # be pulled so that G's output lands on its targets, i.e. anchors and negatives towards each other.
        real = features.detach() if daml.detach_real else features
        x_neg, x_anchor = real.index_select(0, slots.negative), real.index_select(0, slots.anchor)
        with timer.section("generator"):
            synthetic = self.generator.from_batch(real, slots.negative, slots.anchor, slots.positive)
            synthetic_emb = self.model.embed_features(synthetic)
        with timer.section("loss"):
            anchor_emb, positive_emb = embeddings.index_select(0, slots.anchor), embeddings.index_select(0, slots.positive)
            half = 0.5 if daml.half_hinge else 1.0  # the authors' code halves both hinge terms
            hard = j_hard(synthetic, x_anchor)
            reg = j_reg(synthetic, x_neg)
            adv = half * j_adv(synthetic_emb, anchor_emb, positive_emb, daml.adv_margin)
            generator_objective = j_gen(hard, reg, adv, daml.lambda_reg, daml.lambda_adv)
            if daml.update == "alternating":
                # The metric sees the synthetics as fixed inputs: no J_m gradient reaches the generator.
                metric_output = j_m(self.generator_loss, embeddings, tuples, self.model.embed_features(synthetic.detach()))
            else:
                metric_output = j_m(self.generator_loss, embeddings, tuples, synthetic_emb)
            if half != 1.0:
                metric_output = LossOutput(half * metric_output.loss, metric_output.terms, metric_output.num_tuples)
        real_output = self._real_loss(embeddings, labels, tuples, rng) if daml.keep_real_loss else None
        # Diagnostics are means over slots: an evenly spaced subset estimates them for a fraction of the cost
        # (N-pair has N(N−1) slots a batch).
        rows = slice(None, None, max(1, len(slots) // DIAGNOSTIC_SLOTS))
        hinge = adv_hinge(synthetic_emb[rows].detach(), anchor_emb[rows].detach(), positive_emb[rows].detach(), daml.adv_margin)
        diagnostics = synthetic_diagnostics(synthetic[rows].detach(), x_anchor[rows], x_neg[rows], hinge)
        return DamlTerms(hard, reg, adv, generator_objective, metric_output, real_output, diagnostics)

    def _real_loss(self, embeddings: torch.Tensor, labels: torch.Tensor, tuples: Any, rng: torch.Generator) -> LossOutput:
        """The base loss on real negatives: on the generator's own tuples when the base loss mined them."""
        if self.generator_loss is self.loss:
            return self.loss.compute(embeddings, tuples)
        return self.loss(embeddings, labels, rng)

    # -- updates -----------------------------------------------------------------------------------
    def _set_train_mode(self) -> None:
        self.model.train()
        self.generator.train()
        if self.config.model.freeze_bn:
            freeze_batchnorm(self.model.trunk)

    def _scale_trunk_lr(self, scale: float) -> None:
        """The trunk and the neck (the authors' CNN + fc) at `scale` × their rates in the joint phase."""
        base = {"trunk": self.config.optim.lr_trunk, "neck": self.config.optim.lr_embedder}
        for group in self.metric_optimizer.param_groups:
            if group.get("name") in base:
                group["lr"] = base[group["name"]] * scale

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One update of the phase `step` falls in; returns the detached terms and diagnostics to log."""
        self._set_train_mode()
        phase = self.phase(step)
        if phase == "pretrain":
            return self._pretrain_step(images, labels, step)
        precision, distributed, timer = self.context.precision, self.context.distributed, self.context.timer
        self.metric_optimizer.zero_grad(set_to_none=True)
        self.generator_optimizer.zero_grad(set_to_none=True)
        terms = self.forward_terms(images, labels, step)
        if not self.guard.admit(self.generator, self.generator_optimizer, terms.diagnostics["syn_to_anchor"], step):
            # Collapsed synthetics are label noise: no update on them; the generator is back at its last good state.
            self.warnings.extend(self.guard.drain())
            return {**self._log_terms(terms.j_gen + self.daml.lambda_metric * terms.j_m.loss, terms), "collapsed": torch.ones(())}
        metric_params = [p for p in self.model.parameters() if p.requires_grad]
        generator_params = list(self.generator.parameters())
        weighted_metric = self.daml.lambda_metric * terms.j_m.loss
        if terms.real is not None:
            weighted_metric = weighted_metric + terms.real.loss
        with timer.section("backward"):
            if phase == "gen_warmup":
                # Metric frozen: only the generator moves, towards negatives adversarial to the pre-trained f.
                total = terms.j_gen
                precision.backward(total, inputs=generator_params)
            elif self.daml.update == "joint":
                total = terms.j_gen + weighted_metric
                precision.backward(total)
            else:
                total = terms.j_gen + weighted_metric
                precision.backward(weighted_metric, inputs=metric_params, retain_graph=True)
                precision.backward(terms.j_gen, inputs=generator_params)
            distributed.average_gradients([*metric_params, *generator_params])
        with timer.section("optimizer"):
            if phase == "joint":
                self._scale_trunk_lr(self.daml.joint_trunk_lr_scale)
                precision.step(self.metric_optimizer)
            precision.step(self.generator_optimizer)
            precision.update()
        self.warnings.extend(self.guard.drain())
        return self._log_terms(total, terms)

    def _pretrain_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Exactly the baseline update: the base loss on real tuples, no generator."""
        logged = self._pretrain.train_step(images, labels, step)
        return {"loss": logged["loss"], "real": logged["loss"], **{k: v for k, v in logged.items() if k != "loss"}}

    def _log_terms(self, total: torch.Tensor, terms: DamlTerms) -> dict[str, torch.Tensor]:
        """Every loss term and the diagnostics; ``loss`` is the metric's own loss (λ·J_m, plus the real loss
        with keep_real_loss), on the scale pre-training showed, and ``j`` the whole J = J_gen + that."""
        metric = self.daml.lambda_metric * terms.j_m.loss.detach()
        if terms.real is not None:
            metric = metric + terms.real.loss.detach()
        logged = {
            "loss": metric,
            "j": total.detach(),
            "j_m": terms.j_m.loss.detach(),
            "j_gen": terms.j_gen.detach(),
            "j_hard": terms.j_hard.detach(),
            "j_reg": terms.j_reg.detach(),
            "j_adv": terms.j_adv.detach(),
        }
        logged.update({f"m_{name}": value.detach() for name, value in terms.j_m.terms.items()})
        if terms.real is not None:
            logged["real"] = terms.real.loss.detach()
        logged.update(terms.diagnostics)
        return logged

    def drain_warnings(self) -> list[str]:
        pending, self.warnings = self.warnings, []
        return pending

    # -- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.metric_optimizer.state_dict(),
            "generator": self.generator.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.metric_optimizer.load_state_dict(state["optimizer"])
        self.generator.load_state_dict(state["generator"])
        self.generator_optimizer.load_state_dict(state["generator_optimizer"])

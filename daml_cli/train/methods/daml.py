"""DAML: synthetic hard negatives from a generator, trained adversarially with the metric (Duan et al. 2018).

Schedule (``daml.*``, see `daml_phases`): ``pretrain_iters`` steps of the plain base loss, then
``gen_warmup_iters`` steps that train only the generator on J_gen, then the joint phase. In the joint phase
every real negative the base loss uses becomes ``x̃ = G([x⁻; x; x⁺])`` (features), and

    J_gen = J_hard + λ1·J_reg + λ2·h·J_adv        J = J_gen + λ·h·J_m (+ real base loss if keep_real_loss)

with J_m the base loss evaluated on the embeddings of the synthetic negatives and h = ½ with
``half_hinge`` (the authors' code), else 1. Pre-training minimises the base loss on the embeddings, or with
``pretrain_on: features`` on the features with the metric untouched (the authors' code). A step whose
synthetics collapsed onto their anchors goes to train/collapse.py's guard (``on_collapse``). ``update: joint``
runs one backward of J into every parameter (the paper's objective); ``alternating`` gives the generator only
the gradient of J_gen and the metric (trunk + embedder) only that of λ·J_m (+ real), with synthetics detached
in J_m. Both gradients come from the same forward pass and both optimisers then step (a simultaneous, not
sequential, alternation: it costs one forward instead of two). Under data parallelism each rank embeds its
share of the batch with the trunk, then all ranks gather the features and compute the same global-batch terms.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from daml_cli.config.ranges import check_daml_ranges
from daml_cli.config.schema import DamlConfig, RunConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, TupleLoss
from daml_cli.losses.daml_terms import adv_hinge, j_adv, j_gen, j_hard, j_reg
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel, FeatureView
from daml_cli.models.generator import HardNegativeGenerator
from daml_cli.train.collapse import CollapseGuard
from daml_cli.train.context import StepContext
from daml_cli.train.methods.diagnostics import synthetic_diagnostics
from daml_cli.train.methods.plain import gathered_features, logged_output, real_loss_step
from daml_cli.train.mining_rng import mining_rng
from daml_cli.train.objective import PhasedObjective, StepTerms
from daml_cli.train.optimizers import metric_optimizer
from daml_cli.train.phases import Phase, PhaseTable

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
    slots: int  # negative slots (synthetic negatives) this step; 0 when the base loss mined no tuple


def j_m(loss: TupleLoss, embeddings: torch.Tensor, tuples: Any, synthetic_emb: torch.Tensor) -> LossOutput:
    """``J_m``: the base loss on the batch's tuples with every real negative replaced by its synthetic one.

    `synthetic_emb` holds ``f(x̃)`` for each negative slot of `tuples`, in `loss.negative_slots` order.
    """
    return loss.compute(embeddings, tuples, negatives=synthetic_emb)


def daml_phases(daml: DamlConfig) -> PhaseTable:
    """The three phases as routes (see the module docstring); h = ½ is already inside J_m and J_adv."""
    metric_route = {"j_m": daml.lambda_metric, **({"real": 1.0} if daml.keep_real_loss else {})}
    if daml.update == "joint":
        joint = {"metric": {"j_gen": 1.0, **metric_route}, "generator": {"j_gen": 1.0, **metric_route}}
    else:
        joint = {"metric": metric_route, "generator": {"j_gen": 1.0}}
    scale = daml.joint_trunk_lr_scale
    return PhaseTable((
        Phase("pretrain", {"metric": {"real": 1.0}}, steps=daml.pretrain_iters),
        Phase("gen_warmup", {"generator": {"j_gen": 1.0}}, steps=daml.gen_warmup_iters),
        Phase("joint", joint, lr_scales={"trunk": scale, "neck": scale},
              fresh_optimizers=("metric",) if daml.joint_fresh_optimizer else ()),
    ))


def check_daml_config(daml: DamlConfig, loss_name: str) -> None:
    """Reject settings the objective cannot honour, naming the key (ConfigError)."""
    check_daml_ranges(daml)
    if daml.negatives != "loss" and loss_name != "triplet":
        raise ConfigError(
            f"'daml.negatives={daml.negatives}' only applies to the triplet loss",
            f"{loss_name} already feeds every negative of the batch to the generator; use daml.negatives=loss",
        )


class DamlObjective(PhasedObjective):
    """Base loss + DAML generator; see the module docstring for the phases and update schemes."""

    name: ClassVar[str] = "daml"

    def __init__(self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None) -> None:
        check_daml_config(config.daml, config.loss.name)
        self.context = context or StepContext()  # precision, data parallelism, section timer
        self.model, self.loss, self.config, self.daml = model, loss, config, config.daml
        self.negative_miner = self._negative_miner(loss, config)
        device = next(model.parameters()).device
        self.generator = HardNegativeGenerator(
            model.feature_dim, self.daml.generator_hidden, self.daml.generator, self.daml.input_order, self.daml.generator_relu
        ).to(device)
        self.metric_optimizer = metric_optimizer(model, config)
        self.generator_optimizer = torch.optim.Adam(
            [{"params": list(self.generator.parameters()), "lr": config.optim.lr_generator, "name": "generator"}],
            weight_decay=config.optim.weight_decay,
        )
        self.guard = CollapseGuard(self.daml.collapse_threshold, self.daml.on_collapse)
        self.setup({"metric": "metric_optimizer", "generator": "generator_optimizer"}, daml_phases(self.daml))

    @staticmethod
    def _negative_miner(loss: TupleLoss, config: RunConfig) -> TupleLoss:
        """The loss whose mining picks the real negatives fed to the generator (triplet: easy/random option)."""
        if config.daml.negatives == "loss":
            return loss
        return build_loss(dataclasses.replace(config.loss, triplets=config.daml.negatives))

    def networks(self) -> list[torch.nn.Module]:
        return [self.generator]

    def validation_model(self, step: int) -> torch.nn.Module:
        """The raw features during pre-training with ``pretrain_validate_on: features`` (the authors' code)."""
        if self.daml.pretrain_validate_on == "features" and self.stage(step) == "pretrain":
            return FeatureView(self.model)
        return self.model

    # -- forward -----------------------------------------------------------------------------------
    def forward_terms(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> DamlTerms:
        """All DAML terms for one batch (no backward, no optimiser step).

        Spaces: J_hard and J_reg compare features (the generator's space); J_adv and J_m compare embeddings
        ``f(·)``, the synthetic ones obtained by `embed_features`. Mixing them would compare a synthetic
        feature with an embedding, two vectors of different spaces (and often of different sizes).
        """
        daml, timer = self.daml, self.context.timer
        # Data parallel: every rank gathers the global batch's features and runs the embedder, the generator
        # and every term on it in float32, exactly as one process would (see train/distributed.py).
        features, labels = gathered_features(self, images, labels)
        with timer.section("loss"):
            embeddings = self.model.embed_features(features)
            rng = mining_rng(self.config.seed, step)
            tuples = self.negative_miner.mine(labels, embeddings.detach(), rng)
            slots = self.negative_miner.negative_slots(tuples)
        # detach_real: the generator reads and fits the real features but never moves them. Detaching only the
        # J_hard/J_reg targets is not enough: through G's inputs the trunk would still be pulled so that G's
        # output lands on its targets, i.e. anchors and negatives towards each other.
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
                metric_output = j_m(self.negative_miner, embeddings, tuples, self.model.embed_features(synthetic.detach()))
            else:
                metric_output = j_m(self.negative_miner, embeddings, tuples, synthetic_emb)
            if half != 1.0:
                metric_output = LossOutput(half * metric_output.loss, metric_output.terms, metric_output.num_tuples)
        real_output = self._real_loss(embeddings, labels, tuples, rng) if daml.keep_real_loss else None
        # Diagnostics are means over slots: an evenly spaced subset estimates them for a fraction of the cost
        # (N-pair has N(N−1) slots a batch).
        rows = slice(None, None, max(1, len(slots) // DIAGNOSTIC_SLOTS))
        hinge = adv_hinge(synthetic_emb[rows].detach(), anchor_emb[rows].detach(), positive_emb[rows].detach(), daml.adv_margin)
        diagnostics = synthetic_diagnostics(synthetic[rows].detach(), x_anchor[rows], x_neg[rows], hinge)
        return DamlTerms(hard, reg, adv, generator_objective, metric_output, real_output, diagnostics, len(slots))

    def _real_loss(self, embeddings: torch.Tensor, labels: torch.Tensor, tuples: Any, rng: torch.Generator) -> LossOutput:
        """The base loss on real negatives: on the generator's own tuples when the base loss mined them."""
        if self.negative_miner is self.loss:
            return self.loss.compute(embeddings, tuples)
        return self.loss(embeddings, labels, rng)

    # -- one step ----------------------------------------------------------------------------------
    def compute(self, images: torch.Tensor, labels: torch.Tensor, step: int, phase: Phase) -> StepTerms:
        if phase.name == "pretrain":
            return self._pretrain_terms(images, labels, step)
        terms = self.forward_terms(images, labels, step)
        routed = {"j_gen": terms.j_gen, "j_m": terms.j_m.loss}
        if terms.real is not None:
            routed["real"] = terms.real.loss
        logged = self._log_terms(self.phase_total(phase, routed), terms)
        # No negative slot (e.g. MS kept no pair on an easy batch): no synthetic to judge, so nothing collapsed.
        admitted = terms.slots == 0 or self.guard.admit(
            self.generator, self.generator_optimizer, terms.diagnostics["syn_to_anchor"], step)
        self.warnings.extend(self.guard.drain())
        if not admitted:
            # Collapsed synthetics are label noise: no update on them; the generator is back at its last good state.
            return StepTerms(routed, {**logged, "collapsed": torch.ones(())}, update=False)
        return StepTerms(routed, logged)

    def _pretrain_terms(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> StepTerms:
        """The base loss on real tuples, no generator: on the embeddings, or (``pretrain_on: features``) on the
        features, where the metric head gets no gradient and stays as initialised."""
        embed = self.model.features if self.daml.pretrain_on == "features" else self.model
        output = real_loss_step(self, self.loss, embed, images, labels, step)
        logged = logged_output(output)
        return StepTerms({"real": output.loss}, {"loss": logged["loss"], "real": logged["loss"], **logged})

    def _log_terms(self, total: torch.Tensor, terms: DamlTerms) -> dict[str, torch.Tensor]:
        """Every loss term and the diagnostics. ``loss`` is what the metric minimises in the joint phase
        (λ·J_m, plus the real loss with keep_real_loss), on the scale pre-training showed, also logged during
        the generator's warm-up, when the metric does not step; ``j`` is the phase's whole objective: J_gen
        alone in the warm-up, J_gen + λ·J_m (+ real) in the joint phase, also on a collapsed (skipped) step."""
        metric = self.daml.lambda_metric * terms.j_m.loss.detach()
        if terms.real is not None:
            metric = metric + terms.real.loss.detach()
        logged = {
            "loss": metric,
            "j": total,
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

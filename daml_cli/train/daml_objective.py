"""DAML's training step: synthetic hard negatives from the generator, trained adversarially with the metric.

Schedule (``daml.*``): ``pretrain_iters`` steps of the plain base loss, then ``gen_warmup_iters`` steps that
train only the generator on J_gen, then the joint phase. In the joint phase every real negative the base
loss uses becomes ``x̃ = G([x⁻; x; x⁺])`` (features), and

    J_gen = J_hard + λ1·J_reg + λ2·J_adv        J = J_gen + λ·J_m (+ real base loss if keep_real_loss)

with J_m the base loss evaluated on the embeddings of the synthetic negatives. ``update: joint`` runs one
backward of J into every parameter (the paper's objective); ``alternating`` gives the generator only the
gradient of J_gen and the metric (trunk + embedder) only that of J_m, with synthetics detached. Both
gradients come from the same forward pass and both optimisers then step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.losses.base import LossOutput, TupleLoss
from daml_cli.losses.daml_terms import adv_hinge, j_adv, j_gen, j_hard, j_reg
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel, freeze_batchnorm
from daml_cli.models.generator import HardNegativeGenerator
from daml_cli.train.objective import metric_optimizer, mining_generator


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


def synthetic_diagnostics(
    synthetic: torch.Tensor, anchor: torch.Tensor, negative: torch.Tensor, hinge: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Mean ||x̃−x|| and ||x̃−x⁻|| relative to ||x−x⁻||, and the fraction of active J_adv terms.

    ``syn_to_anchor`` near 0 means the synthetics collapsed onto their anchors (label noise).
    """
    with torch.no_grad():
        scale = (anchor - negative).norm(dim=1).clamp_min(1e-12)
        return {
            "syn_to_anchor": ((synthetic - anchor).norm(dim=1) / scale).mean(),
            "syn_to_negative": ((synthetic - negative).norm(dim=1) / scale).mean(),
            "adv_active": (hinge > 0).float().mean(),
        }


class DamlObjective:
    """Base loss + DAML generator; see the module docstring for the phases and update schemes."""

    def __init__(self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig) -> None:
        self.model = model
        self.loss = loss
        self.config = config
        self.daml = config.daml
        self.generator_loss = self._generator_feed_loss(loss, config)
        device = next(model.parameters()).device
        self.generator = HardNegativeGenerator(model.feature_dim, self.daml.generator_hidden, self.daml.generator).to(device)
        self.metric_optimizer = metric_optimizer(model, config)
        self.generator_optimizer = torch.optim.Adam(
            self.generator.parameters(), lr=config.optim.lr_generator, weight_decay=config.optim.weight_decay
        )
        self.warnings: list[str] = []
        self._collapse_warned = False

    @staticmethod
    def _generator_feed_loss(loss: TupleLoss, config: RunConfig) -> TupleLoss:
        """The base loss that mines the real negatives fed to the generator (triplet: easy/random option)."""
        if config.daml.negatives == "loss" or config.loss.name != "triplet":
            return loss
        return build_loss(dataclasses.replace(config.loss, triplets=config.daml.negatives))

    def phase(self, step: int) -> str:
        if step < self.daml.pretrain_iters:
            return "pretrain"
        if step < self.daml.pretrain_iters + self.daml.gen_warmup_iters:
            return "gen_warmup"
        return "joint"

    # -- forward -----------------------------------------------------------------------------------
    def forward_terms(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> DamlTerms:
        """All DAML terms for one batch (no backward, no optimiser step)."""
        daml = self.daml
        features = self.model.features(images)
        embeddings = self.model.embed_features(features)
        rng = mining_generator(self.config.seed, step)
        tuples = self.generator_loss.mine(labels, embeddings.detach(), rng)
        slots = self.generator_loss.negative_slots(tuples)
        x_neg, x_anchor, x_pos = features[slots.negative], features[slots.anchor], features[slots.positive]
        synthetic = self.generator(x_neg, x_anchor, x_pos)
        synthetic_emb = self.model.embed_features(synthetic)
        anchor_emb, positive_emb = embeddings[slots.anchor], embeddings[slots.positive]
        reference_anchor = x_anchor.detach() if daml.detach_real else x_anchor
        reference_negative = x_neg.detach() if daml.detach_real else x_neg
        hard = j_hard(synthetic, reference_anchor)
        reg = j_reg(synthetic, reference_negative)
        adv = j_adv(synthetic_emb, anchor_emb, positive_emb, daml.adv_margin)
        generator_objective = j_gen(hard, reg, adv, daml.lambda_reg, daml.lambda_adv)
        if daml.update == "alternating":
            # The metric sees the synthetics as fixed inputs: no J_m gradient reaches the generator.
            synthetic_emb_for_metric = self.model.embed_features(synthetic.detach())
        else:
            synthetic_emb_for_metric = synthetic_emb
        metric_output = self.generator_loss.compute(embeddings, tuples, negatives=synthetic_emb_for_metric)
        real_output = self.loss(embeddings, labels, rng) if daml.keep_real_loss else None
        hinge = adv_hinge(synthetic_emb.detach(), anchor_emb.detach(), positive_emb.detach(), daml.adv_margin)
        diagnostics = synthetic_diagnostics(synthetic.detach(), x_anchor.detach(), x_neg.detach(), hinge)
        return DamlTerms(hard, reg, adv, generator_objective, metric_output, real_output, diagnostics)

    # -- updates -----------------------------------------------------------------------------------
    def _set_train_mode(self) -> None:
        self.model.train()
        self.generator.train()
        if self.config.model.freeze_bn:
            freeze_batchnorm(self.model.trunk)

    def _scale_trunk_lr(self, scale: float) -> None:
        for group in self.metric_optimizer.param_groups:
            if group.get("name") == "trunk":
                group["lr"] = self.config.optim.lr_trunk * scale

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        self._set_train_mode()
        phase = self.phase(step)
        if phase == "pretrain":
            return self._pretrain_step(images, labels, step)
        self.metric_optimizer.zero_grad(set_to_none=True)
        self.generator_optimizer.zero_grad(set_to_none=True)
        terms = self.forward_terms(images, labels, step)
        metric_params = [p for p in self.model.parameters() if p.requires_grad]
        generator_params = list(self.generator.parameters())
        weighted_metric = self.daml.lambda_metric * terms.j_m.loss
        if terms.real is not None:
            weighted_metric = weighted_metric + terms.real.loss
        if phase == "gen_warmup":
            terms.j_gen.backward(inputs=generator_params)
            self.generator_optimizer.step()
            total = terms.j_gen
        elif self.daml.update == "joint":
            total = terms.j_gen + weighted_metric
            total.backward()
            self._scale_trunk_lr(self.daml.joint_trunk_lr_scale)
            self.metric_optimizer.step()
            self.generator_optimizer.step()
        else:
            weighted_metric.backward(inputs=metric_params, retain_graph=True)
            terms.j_gen.backward(inputs=generator_params)
            self._scale_trunk_lr(self.daml.joint_trunk_lr_scale)
            self.metric_optimizer.step()
            self.generator_optimizer.step()
            total = terms.j_gen + weighted_metric
        self._check_collapse(terms.diagnostics["syn_to_anchor"], step)
        return self._log_terms(total, terms)

    def _pretrain_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        output = self.loss(self.model(images), labels, mining_generator(self.config.seed, step))
        self.metric_optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        self.metric_optimizer.step()
        return {"loss": output.loss.detach(), "real": output.loss.detach()}

    def _log_terms(self, total: torch.Tensor, terms: DamlTerms) -> dict[str, torch.Tensor]:
        logged = {
            "loss": total.detach(),
            "j_m": terms.j_m.loss.detach(),
            "j_gen": terms.j_gen.detach(),
            "j_hard": terms.j_hard.detach(),
            "j_reg": terms.j_reg.detach(),
            "j_adv": terms.j_adv.detach(),
        }
        if terms.real is not None:
            logged["real"] = terms.real.loss.detach()
        logged.update(terms.diagnostics)
        return logged

    def _check_collapse(self, syn_to_anchor: torch.Tensor, step: int) -> None:
        ratio = float(syn_to_anchor)
        if ratio < self.daml.collapse_threshold and not self._collapse_warned:
            self._collapse_warned = True
            self.warnings.append(
                f"step {step + 1}: synthetic negatives collapsed onto their anchors (mean ||x̃−x||/||x−x⁻|| = "
                f"{ratio:.3f} < {self.daml.collapse_threshold}); raise daml.lambda_reg or lower daml.lambda_adv"
            )

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

"""HDML: hardness-aware synthetic negatives (Zheng, Chen, Lu, Zhou, CVPR 2019), in the authors' TF code's form.

One step (terms in losses/hdml_terms.py; read in wzzheng/HDML: main_triplet.py, main_npair.py, lib/HDML.py,
lib/nn_Ops.py, lib/Loss_ops.py, FLAGS.py):

1. z = embed(y) for the batch's features y; the base loss mines its tuples and J_m = loss(z, tuples).
2. Every negative slot (anchor z, positive z⁺, negative z⁻) is pulled: ẑ⁻ = z + λ₀(z⁻ − z) with
   λ₀ = [d⁺ + (d⁻ − d⁺)e^(−α/J_avg)]/d⁻ where d⁺ < d⁻, else ẑ⁻ = z⁻ (plain Euclidean d).
3. The generator G (d → 512 → F) runs once on [z ; ẑ⁻]: y′ = G(z) reconstructs the batch, ỹ⁻ = G(ẑ⁻).
4. The SAME embedder re-embeds both (`model.embed_features`): z̃ = embed(y′) are the synthetic tuple's anchors
   and positives, z̃⁻ = embed(ỹ⁻) its negatives, and J_syn = loss.compute(z̃, tuples, negatives=z̃⁻).
5. J_metric = e^(−β/J_gen)·J_m + (1 − e^(−β/J_gen))·J_syn; J_gen = J_recon + J_soft with
   J_recon = (1−λ)Σ||y′ − y||² and J_soft = S·λ·CE(classifier(ỹ), labels); CE(y) trains the classifier.
6. Three Adam optimisers, three routes (one phase): metric (trunk, neck, embedder) ← J_metric, generator ←
   J_gen, classifier ← CE(y). J_metric's gradient flows through G and the pulling into the trunk; J_soft reads
   the classifier but never moves it. J_avg (of e^(−β/J_gen)·J_m, the authors' quirk: they rebind J_m before
   fetching it; ``hdml.average_weighted: false`` averages J_m) and J_gen are 64-step block means starting at
   1e6, constants in the graph, saved in the state.

Losses: triplet and N-pair as in the paper, and any tuple loss with negative slots (lifted, contrastive,
multi_similarity); proxy_anchor has none and is refused. N-pair's slots are the authors' all-pairs candidates:
(a_i, p_i, p_j) for j ≠ i, the diagonal candidate being p_i itself (kept, since d⁺ = d⁻), which in step 4 is
the generated positive z̃[p_i]. J_soft groups rows as the authors do: triplet (and the other losses) one mean over
the synthetic tuples [anchor; positive; pulled negative] slot by slot; N-pair the mean over the synthetic anchors
plus the mean over the N²/4 candidates.

Differences from the authors' code (checked there): their generator input repeats the tuple's anchors and
positives beside z (only BatchNorm's batch statistics differ; the rows G returns are the same); their head is
BN → Linear (ours has no BN in the embedder); their J_m is a *summed* triplet loss plus weight decay 5e-3·Σ½||W||²
inside J_m (ours: the loss's mean; weight decay is optim.weight_decay in Adam), so J_avg is ~T× smaller here and
α = 90 pulls almost fully after the first block (GeDML's docstring gives α = 7 for triplet); their N-pair L2
term also covers the candidates. They replace a NaN loss by 0; here the loop stops on one. Their embeddings are not
L2-normalised (``model.normalize: false`` in the paper presets); with normalisation z lies on the unit sphere,
ẑ⁻ on a chord inside it, and z̃ is normalised again. UNCONFIRMED in the paper (PDF not read): its d and its
triplet α; the authors' triplet batch must be a multiple of 3 (their sampler asserts it; FLAGS' 128 is not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch.nn import functional as F

from daml_cli.config.hdml_ranges import check_hdml_ranges
from daml_cli.config.schema import RunConfig
from daml_cli.data.manifest import read_manifest
from daml_cli.data.splits import training_splits
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.distances import euclidean, squared_euclidean
from daml_cli.losses.hdml_terms import BlockMean, j_metric, j_recon, j_soft, lambda_zero, metric_weight, pull_negatives, pull_scale
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.context import StepContext
from daml_cli.train.methods.diagnostics import synthetic_diagnostics
from daml_cli.train.methods.hdml_nets import HdmlGenerator, SoftmaxClassifier
from daml_cli.train.methods.plain import gathered_features, logged_output
from daml_cli.train.mining_rng import mining_rng
from daml_cli.train.objective import PhasedObjective, StepTerms
from daml_cli.train.optimizers import metric_optimizer
from daml_cli.train.phases import Phase, PhaseTable
from daml_cli.train.training_data import dataset_dir

HDML_LOSSES = ("triplet", "npair", "lifted", "contrastive", "multi_similarity")  # the losses with negative slots
DIAGNOSTIC_SLOTS = 512  # about this many slots per batch enter the logged diagnostics
ROUTES = {"metric": {"j_metric": 1.0}, "generator": {"j_gen": 1.0}, "classifier": {"ce": 1.0}}


def check_hdml_config(config: RunConfig) -> None:
    """The ``hdml.*`` ranges, and a base loss whose negatives can be pulled (ConfigError otherwise)."""
    check_hdml_ranges(config.hdml)
    if config.loss.name not in HDML_LOSSES:
        raise ConfigError(
            f"'synthesis=hdml' cannot use loss '{config.loss.name}': it has no negative slots to pull",
            f"use one of {', '.join(HDML_LOSSES)}",
        )


def training_class_labels(config: RunConfig) -> list[int]:
    """The label values of the run's training split (validation classes removed), as the trainer splits it."""
    train_rows, _ = training_splits(read_manifest(dataset_dir(config)), config.data.val_classes, config.seed)
    return sorted({row.label for row in train_rows})


def soft_groups(loss_name: str, tuples: Any, slots: NegativeSlots, batch: int) -> list[torch.Tensor]:
    """Row groups of the generator output [y′ (batch rows); ỹ⁻ (one row per slot)] that J_soft scores.

    N-pair: the synthetic anchors, then the n×n candidates i-major (diagonal: the generated positive p_i,
    off-diagonal: slot (i, j)). Other losses: slot by slot, [anchors; positives; pulled negatives].
    """
    pulled = batch + torch.arange(len(slots), device=slots.negative.device)
    if loss_name != "npair":
        return [torch.cat([slots.anchor, slots.positive, pulled])]
    n = len(tuples)
    candidates = torch.diag(tuples.positive) if n else tuples.positive.new_zeros(0, 0)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=candidates.device)
    candidates[off_diagonal] = pulled  # NPairLoss's slots are the off-diagonal (i, j), i-major
    return [tuples.anchor, candidates.reshape(-1)]


@dataclasses.dataclass
class HdmlTerms:
    """Everything one HDML forward pass produces (tensors attached to the graph, diagnostics detached)."""

    j_m: LossOutput
    j_syn: LossOutput
    j_metric: torch.Tensor
    j_recon: torch.Tensor
    j_soft: torch.Tensor
    ce: torch.Tensor
    diagnostics: dict[str, torch.Tensor]

    @property
    def j_gen(self) -> torch.Tensor:
        return self.j_recon + self.j_soft


class HdmlObjective(PhasedObjective):
    """Base loss + HDML's pulling, generator and classifier; see the module docstring."""

    name: ClassVar[str] = "hdml"

    def __init__(
        self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None,
        class_labels: Sequence[int] | None = None,
    ) -> None:
        """`class_labels`: the training classes of the classifier; by default the context's (the trainer fills
        them), else read from the run's manifest and split exactly as the trainer does (`training_class_labels`)."""
        check_hdml_config(config)
        self.context = context or StepContext()
        self.model, self.loss, self.config, self.hdml = model, loss, config, config.hdml
        if class_labels is None:
            class_labels = self.context.class_labels
        labels = training_class_labels(config) if class_labels is None else class_labels
        device = next(model.parameters()).device
        self.generator = HdmlGenerator(model.embedding_dim, model.feature_dim).to(device)
        self.classifier = SoftmaxClassifier(labels, model.feature_dim).to(device)
        self.metric_optimizer = metric_optimizer(model, config)
        self.generator_optimizer = torch.optim.Adam(
            [{"params": list(self.generator.parameters()), "lr": config.optim.lr_generator, "name": "generator"}]
        )
        self.classifier_optimizer = torch.optim.Adam(
            [{"params": list(self.classifier.parameters()), "lr": self.hdml.lr_classifier, "name": "classifier"}]
        )
        self.j_avg = BlockMean(self.hdml.average_block)
        self.j_gen_avg = BlockMean(self.hdml.average_block)
        attributes = {"metric": "metric_optimizer", "generator": "generator_optimizer", "classifier": "classifier_optimizer"}
        self.setup(attributes, PhaseTable((Phase("train", ROUTES),)))

    def networks(self) -> list[torch.nn.Module]:
        return [self.generator, self.classifier]

    # -- forward -----------------------------------------------------------------------------------
    def forward_terms(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> HdmlTerms:
        """All HDML terms of one batch at the current block means (no backward, no optimiser step)."""
        hdml, timer = self.hdml, self.context.timer
        features, labels = gathered_features(self, images, labels)  # the global batch, float32, on every rank
        with timer.section("loss"):
            embeddings = self.model.embed_features(features)
            tuples = self.loss.mine(labels, embeddings.detach(), mining_rng(self.config.seed, step))
            slots = self.loss.negative_slots(tuples)
            real = self.loss.compute(embeddings, tuples)
            anchor, positive, negative = (embeddings.index_select(0, rows) for rows in (slots.anchor, slots.positive, slots.negative))
            scale = pull_scale(hdml.alpha, self.j_avg.value)
            pulled = pull_negatives(anchor, positive, negative, scale)
        with timer.section("generator"):
            generated = self.generator(torch.cat([embeddings, pulled]))
            synthetic_emb = self.model.embed_features(generated)  # the metric's own embedder
        batch = embeddings.shape[0]
        with timer.section("loss"):
            synthetic = self.loss.compute(synthetic_emb[:batch], tuples, negatives=synthetic_emb[batch:])
            metric = j_metric(real.loss, synthetic.loss, hdml.beta, self.j_gen_avg.value)
            recon = j_recon(generated[:batch], features, hdml.lambda_gen)
            rows = self.classifier.rows(torch.cat([labels, labels.index_select(0, slots.negative)]))
            logits = self.classifier(generated)
            groups = soft_groups(self.loss.name, tuples, slots, batch)
            soft = j_soft([logits[g] for g in groups], [rows[g] for g in groups], hdml.lambda_gen, hdml.softmax_factor)
            real_logits = self.classifier(features)
            ce = F.cross_entropy(real_logits, rows[:batch])
        diagnostics = self._diagnostics(
            (anchor, positive, negative), synthetic_emb, slots, scale, (logits[batch:], real_logits), rows
        )
        return HdmlTerms(real, synthetic, metric, recon, soft, ce, diagnostics)

    def _diagnostics(
        self, real: tuple[torch.Tensor, ...], synthetic_emb: torch.Tensor, slots: NegativeSlots, scale: float,
        logits: tuple[torch.Tensor, torch.Tensor], rows: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Are the synthetics hard, and do they keep their class? Means over an evenly spaced subset of slots.

        ``lambda0``: mean λ₀ (1 = not pulled); ``syn_to_anchor`` / ``syn_to_negative``: ||z̃⁻ − z|| and
        ||z̃⁻ − z⁻|| over ||z − z⁻|| (real anchor z and negative z⁻); ``syn_closer``: fraction of synthetic tuples
        whose negative is closer to the synthetic anchor than the synthetic positive; ``syn_accuracy`` /
        ``real_accuracy``: the classifier's accuracy on the pulled synthetic features / on the real ones.
        """
        batch = rows.shape[0] - len(slots)
        pick = slice(None, None, max(1, len(slots) // DIAGNOSTIC_SLOTS))
        with torch.no_grad():
            anchor, positive, negative = (part[pick].detach() for part in real)
            syn_anchor, syn_positive = synthetic_emb[slots.anchor[pick]], synthetic_emb[slots.positive[pick]]
            syn_negative = synthetic_emb[batch:][pick]
            closer = squared_euclidean(syn_anchor, syn_positive) - squared_euclidean(syn_anchor, syn_negative)
            found = synthetic_diagnostics(syn_negative, anchor, negative, closer)
            found["syn_closer"] = found.pop("adv_active")
            lam = lambda_zero(euclidean(anchor, positive), euclidean(anchor, negative), scale)
            found["lambda0"] = lam.mean() if lam.numel() else lam.new_ones(())
            syn_logits, real_logits = logits
            hits = (syn_logits.argmax(dim=1) == rows[batch:]).float()
            found["syn_accuracy"] = hits.mean() if hits.numel() else hits.new_zeros(())
            found["real_accuracy"] = (real_logits.argmax(dim=1) == rows[:batch]).float().mean()
        return found

    # -- one step ----------------------------------------------------------------------------------
    def compute(self, images: torch.Tensor, labels: torch.Tensor, step: int, phase: Phase) -> StepTerms:
        pull, weight = pull_scale(self.hdml.alpha, self.j_avg.value), metric_weight(self.hdml.beta, self.j_gen_avg.value)
        averages = {"j_avg": self.j_avg.value, "j_gen_avg": self.j_gen_avg.value, "pull": pull, "w_m": weight}
        terms = self.forward_terms(images, labels, step)
        routed = {"j_metric": terms.j_metric, "j_gen": terms.j_gen, "ce": terms.ce}
        j_m = float(terms.j_m.loss.detach())
        self.j_avg.update(weight * j_m if self.hdml.average_weighted else j_m)
        self.j_gen_avg.update(float(terms.j_gen.detach()))
        logged = logged_output(terms.j_m)  # ``loss`` first: the base loss on real tuples, J_m
        logged["j"] = self.phase_total(phase, routed)
        logged.update({name: value.detach() for name, value in (
            ("j_m", terms.j_m.loss), ("j_syn", terms.j_syn.loss), ("j_metric", terms.j_metric),
            ("j_gen", terms.j_gen), ("j_recon", terms.j_recon), ("j_soft", terms.j_soft), ("ce", terms.ce),
        )})
        logged.update({name: torch.tensor(value) for name, value in averages.items()})
        logged.update(terms.diagnostics)
        return StepTerms(routed, logged)

    # -- state -------------------------------------------------------------------------------------
    def _stateful(self) -> dict[str, Any]:
        """Everything a resume needs, by its (stable) key in the saved state."""
        return {
            "optimizer": self.metric_optimizer, "generator": self.generator, "generator_optimizer": self.generator_optimizer,
            "classifier": self.classifier, "classifier_optimizer": self.classifier_optimizer,
            "j_avg": self.j_avg, "j_gen_avg": self.j_gen_avg,
        }

    def state_dict(self) -> dict[str, Any]:
        return {key: part.state_dict() for key, part in self._stateful().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, part in self._stateful().items():
            part.load_state_dict(state[key])

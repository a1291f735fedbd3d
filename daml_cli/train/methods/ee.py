"""Embedding Expansion (Ko & Gu, CVPR 2020): the base loss on the batch expanded by synthetic points.

No parameters of its own: one phase, ``metric ← loss``, where the loss is the base loss on the expanded batch
[originals; n groups of synthetic points between same-class partners] of losses/embedding_expansion.py
(``ee.n_inner_pts``, ``ee.normalize``, ``ee.duplicates``). Synthetic points are used on the NEGATIVE side only,
as in the authors' code:

- ``triplet``: the authors' HPHN triplet, ``[d_ap − d_an + loss.margin]_+`` averaged over the originals, with
  the hardest positive among the originals and the hardest negative over i and its synthetic points against
  every real and synthetic point of another label, on plain Euclidean distances. It replaces the triplet
  strategy (``loss.triplets``) and ignores ``loss.squared``; the margin is the base loss's own (the authors'
  default is 1e-5, which the paper-protocol preset cub-triplet-ee uses; the Omniglot and digits twins keep 0.2);
- ``multi_similarity``, ``contrastive``, ``lifted``: the loss's own mining with only the real rows as anchors
  and positives (``mine(..., real=mask)``); every synthetic point is a candidate negative of the real anchors.

The batch must hold same-class pairs in rows 2m, 2m+1: P×K batches with K even (checked here, and every
batch's pairs are checked in `partners`). Logged every step (cheap, under no_grad): ``loss_no_ee``, the loss
on the same batch without synthetic points (so a user sees what EE adds), ``syn_hardest``, the fraction of
originals whose hardest negative pair involves a synthetic point (the triplet's HPHN pair; for the pair losses
i's nearest other-label row), and ``syn_cos_source``, the mean cosine of the synthetic points to the embedding
they were generated from. Under data parallelism every rank gathers the global batch (in sampler order, so
the pairs survive) and computes the same global loss, as methods/daml.py does.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, TupleLoss
from daml_cli.losses.embedding_expansion import Expansion, expand, hardest_pairs, synthetic_source_cosine
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.context import StepContext
from daml_cli.train.methods.plain import METRIC_ROUTE, logged_output
from daml_cli.train.mining_rng import mining_rng
from daml_cli.train.objective import PhasedObjective, StepTerms
from daml_cli.train.optimizers import metric_optimizer
from daml_cli.train.phases import Phase, PhaseTable

PAIR_LOSSES = ("multi_similarity", "contrastive", "lifted")  # mined with real rows as anchors and positives
EE_LOSSES = ("triplet", *PAIR_LOSSES)
MAX_INNER_PTS = 32  # the distance matrix grows as (n+1)²; beyond this it is a typo, not a setting


def check_ee_config(config: RunConfig) -> None:
    """Reject settings Embedding Expansion cannot honour, naming the key (ConfigError)."""
    n = config.ee.n_inner_pts
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_INNER_PTS:
        raise ConfigError(f"'ee.n_inner_pts' must be an integer from 0 to {MAX_INNER_PTS}, got {n!r}")
    if config.loss.name not in EE_LOSSES:
        raise ConfigError(
            f"'loss.name={config.loss.name}' has no Embedding Expansion form", f"use one of {', '.join(EE_LOSSES)}"
        )
    if config.sampler.kind != "pk":
        raise ConfigError(
            f"'sampler.kind={config.sampler.kind}' does not give Embedding Expansion same-class pairs", "use sampler.kind=pk"
        )
    if config.sampler.images_per_class % 2:
        raise ConfigError(
            f"'sampler.images_per_class' must be even for Embedding Expansion, got {config.sampler.images_per_class}",
            "EE pairs rows 2m and 2m+1 of each class's K consecutive images",
        )


class EeObjective(PhasedObjective):
    """The base loss on the batch expanded by synthetic points; see the module docstring."""

    name: ClassVar[str] = "ee"

    def __init__(self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None) -> None:
        check_ee_config(config)
        if not getattr(model, "normalize", True):
            raise ConfigError(
                "Embedding Expansion needs L2-normalised embeddings", "set model.normalize=true and model.layout=standard"
            )
        self.model, self.loss, self.config, self.ee = model, loss, config, config.ee
        self.context = context or StepContext()
        self.metric_optimizer = metric_optimizer(model, config)
        self.setup({"metric": "metric_optimizer"}, PhaseTable((Phase("train", METRIC_ROUTE),)))

    def expand(self, embeddings: torch.Tensor, labels: torch.Tensor, n_inner_pts: int | None = None) -> Expansion:
        """The expanded batch with this run's settings (`n_inner_pts` overrides ``ee.n_inner_pts``)."""
        n = self.ee.n_inner_pts if n_inner_pts is None else n_inner_pts
        return expand(embeddings, labels, n, self.ee.normalize, self.ee.duplicates == "keep")

    def expanded_loss(self, expansion: Expansion, rng: torch.Generator) -> tuple[LossOutput, torch.Tensor]:
        """The base loss on `expansion`, and per original whether its hardest negative pair is synthetic."""
        if self.config.loss.name == "triplet":
            pairs = hardest_pairs(expansion)
            hinge = torch.relu(pairs.d_ap - pairs.d_an + self.loss.margin)  # type: ignore[attr-defined]
            loss = hinge.mean()
            active = (hinge.detach() > 0).to(loss.dtype).mean()
            return LossOutput(loss, {"hphn": loss, "active_fraction": active}, expansion.num_real), pairs.synthetic
        tuples = self.loss.mine(expansion.labels, expansion.points.detach(), rng, real=expansion.real)  # type: ignore[call-arg]
        output = self.loss.compute(expansion.points, tuples)
        with torch.no_grad():
            synthetic = hardest_pairs(dataclasses.replace(expansion, points=expansion.points.detach()), False).synthetic
        return output, synthetic

    def compute(self, images: torch.Tensor, labels: torch.Tensor, step: int, phase: Phase) -> StepTerms:
        precision, distributed, timer = self.context.precision, self.context.distributed, self.context.timer
        with timer.section("forward"), precision.autocast():
            local = self.model(images)
        with timer.section("loss"):
            embeddings = distributed.gather(local.float())
            labels = distributed.gather_labels(labels)
            expansion = self.expand(embeddings, labels)
            output, synthetic = self.expanded_loss(expansion, mining_rng(self.config.seed, step))
            with torch.no_grad():
                plain, _ = self.expanded_loss(self.expand(embeddings.detach(), labels, 0), mining_rng(self.config.seed, step))
                cosine = synthetic_source_cosine(dataclasses.replace(expansion, points=expansion.points.detach()))
        terms = {"loss": output.loss}
        logged = logged_output(output)
        logged = {"loss": logged.pop("loss"), "j": self.phase_total(phase, terms), **logged}
        logged.update({
            "loss_no_ee": plain.loss.detach(),
            "syn_hardest": synthetic.to(output.loss.dtype).mean(),
            "syn_cos_source": cosine,
        })
        return StepTerms(terms, logged)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.metric_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.metric_optimizer.load_state_dict(state["optimizer"])

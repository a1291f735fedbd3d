"""Proxy-Anchor loss (Kim et al., CVPR 2020): one learnable proxy per training class, in the official code's form.

The proxies live in `ProxyTable`, an ``nn.Module`` that also holds the sorted training label values: row c of
the (C, d) proxies belongs to label ``class_labels[c]``, so any set of integer labels works (manifest labels
are not contiguous once test or validation classes are taken out). The table is the loss's whole state: the
trainer gives ``loss.parameters()`` their own optimiser group and saves ``loss.state_dict()`` in checkpoints.

The loss takes no synthetic negatives: there is no negative slot to fill, so DAML-style synthesis refuses it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from daml_cli.config.schema import LossConfig
from daml_cli.errors import CheckpointError, ConfigError
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.class_rows import ClassRows
from daml_cli.losses.inputs import empty_loss
from daml_cli.losses.settings import count, non_negative, positive
from daml_cli.losses.similarity import cosine_matrix, log1p_sum_exp


def proxy_anchor_terms(
    embeddings: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, alpha: float = 32.0, delta: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """The positive and the negative term of `proxy_anchor_loss` (their sum is the loss)."""
    num_classes = proxies.shape[0]
    if embeddings.shape[0] == 0:
        zero = empty_loss(embeddings, proxies)
        return zero, zero
    cos = cosine_matrix(embeddings, proxies)  # (B, C)
    member = nn.functional.one_hot(labels.reshape(-1), num_classes).bool()
    minus_inf = cos.new_tensor(float("-inf"))
    pos = log1p_sum_exp(torch.where(member, -alpha * (cos - delta), minus_inf), dim=0)  # (C,)
    neg = log1p_sum_exp(torch.where(member, minus_inf, alpha * (cos + delta)), dim=0)  # (C,)
    present = member.any(dim=0)
    return pos[present].sum() / present.sum(), neg.sum() / num_classes


def proxy_anchor_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, proxies: torch.Tensor, alpha: float = 32.0, delta: float = 0.1
) -> torch.Tensor:
    """``L = (1/|P⁺|) Σ_{p ∈ P⁺} log(1 + Σ_{x ∈ X_p⁺} e^{−α(s(x,p) − δ)}) + (1/C) Σ_{p=1..C} log(1 + Σ_{x ∈ X_p⁻} e^{α(s(x,p) + δ)})``.

    `embeddings` (B, d); `labels` (B,) are proxy rows in 0..C−1; `proxies` (C, d). s is the cosine (both sides
    L2-normalised, norms floored at 1e-12). P⁺ = the proxies whose class is in the batch; X_p⁺ / X_p⁻ = the
    batch items of / not of p's class. The negative term runs over all C proxies, present or not, and divides
    by C. Each log is a log-sum-exp with a zero appended (finite under fp16: e^{α(1+δ)} = e^{35.2} is not).
    """
    pos, neg = proxy_anchor_terms(embeddings, labels, proxies, alpha, delta)
    return pos + neg


class ProxyTable(ClassRows):
    """``proxies`` (C, d), initialised as the official code does (``kaiming_normal_``, mode fan_out: N(0, 2/C)),
    and the buffer ``class_labels`` (C,): the training label value of each proxy row, ascending (losses/class_rows.py)."""

    def __init__(self, class_labels: Sequence[int] | int, embedding_dim: int) -> None:
        super().__init__(class_labels, owner="proxy_anchor", row_name="proxy")
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ConfigError(f"proxy_anchor needs an embedding size of at least 1, got {embedding_dim!r}")
        self.proxies = nn.Parameter(torch.empty(self.num_classes, embedding_dim))
        nn.init.kaiming_normal_(self.proxies, mode="fan_out")


class ProxyAnchorLoss(TupleLoss):
    """Proxy-Anchor with scale α = `alpha` and margin δ = `delta` over the proxies of `class_labels`.

    `lr_multiplier` (the proxies' learning rate over the embedder's; official 100) and `warmup_steps` (steps
    with the trunk frozen) are carried for the trainer, which owns the optimiser and the schedule.
    """

    name: ClassVar[str] = "proxy_anchor"

    def __init__(
        self,
        class_labels: Sequence[int] | int,
        embedding_dim: int,
        alpha: float = 32.0,
        delta: float = 0.1,
        lr_multiplier: float = 100.0,
        warmup_steps: int = 0,
    ) -> None:
        self.alpha = positive("pa_alpha", alpha)
        self.delta = non_negative("pa_delta", delta)
        self.lr_multiplier = positive("proxy_lr_multiplier", lr_multiplier)
        self.warmup_steps = count("proxy_warmup_steps", warmup_steps)
        self.module = ProxyTable(class_labels, embedding_dim)

    @classmethod
    def from_config(cls, cfg: LossConfig, class_labels: Sequence[int] | int, embedding_dim: int) -> ProxyAnchorLoss:
        """The loss of `cfg` with one proxy per value in `class_labels` (the training split's labels, any order or
        repetition; an int C means 0..C−1) of size `embedding_dim` (the model's embedding size)."""
        return cls(class_labels, embedding_dim, cfg.pa_alpha, cfg.pa_delta, cfg.proxy_lr_multiplier, cfg.proxy_warmup_steps)

    @property
    def num_classes(self) -> int:
        return int(self.module.class_labels.shape[0])

    def parameters(self) -> Iterator[nn.Parameter]:
        """The learnable proxies, for their own optimiser group."""
        return self.module.parameters()

    def to(self, device: torch.device | str) -> ProxyAnchorLoss:
        """Move the proxies (and the label table) to `device`; returns self."""
        self.module.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        """``{"proxies": (C, d), "class_labels": (C,)}`` from the module."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the proxies; CheckpointError when the checkpoint's classes are not this loss's classes."""
        saved = state.get("class_labels")
        if saved is None or not torch.equal(torch.as_tensor(saved).cpu(), self.module.class_labels.cpu()):
            raise CheckpointError(
                "the checkpoint's proxies belong to other training classes than this run's",
                "resume with the same dataset and validation split",
            )
        self.module.load_state_dict(state)

    def mine(self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None) -> torch.Tensor:
        """The proxy row of each item's label."""
        return self.module.rows(labels)

    def negative_slots(self, tuples: torch.Tensor) -> NegativeSlots:
        raise ConfigError(
            "proxy_anchor has no negative slots; it takes no synthesis",
            "train it without synthetic negatives (daml.enabled: false), or pick a tuple loss such as multi_similarity",
        )

    def compute(self, embeddings: torch.Tensor, tuples: torch.Tensor, negatives: torch.Tensor | None = None) -> LossOutput:
        if negatives is not None:
            self.negative_slots(tuples)
        proxies = self.module.proxies
        pos, neg = proxy_anchor_terms(embeddings, tuples, proxies, self.alpha, self.delta)
        loss = pos + neg
        return LossOutput(loss, {self.name: loss, "pa_positive": pos, "pa_negative": neg}, int(tuples.shape[0]))

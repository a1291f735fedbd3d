"""The metric network: trunk -> (neck) -> feature -> embedder -> (L2-normalised) embedding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from daml_cli.config.schema import ModelConfig
from daml_cli.errors import ConfigError
from daml_cli.models.backbones import BACKBONES


class L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1)


class EmbeddingModel(nn.Module):
    """``embed(x) = normalise(embedder(neck(trunk(x))))``.

    ``features(x) = neck(trunk(x))`` is the space the DAML generator works in; synthetic negatives are
    features that go through `embed_features` only. Two layouts (``model.layout``):

    - ``standard`` (default, the GeDML reading of the paper): no neck, the feature is the trunk's pooled
      output (1024-d for GoogLeNet) and the embedder is one Linear layer (1024 -> 512);
    - ``official`` (the authors' Chainer code): neck = BatchNorm -> Linear(-> embedding_dim) -> L2-normalise,
      so features are unit vectors; the embedder is Linear -> ReLU -> Linear, both initialised to the
      identity, with no output normalisation.
    """

    def __init__(
        self, trunk: nn.Module, neck: nn.Module, embedder: nn.Module, feature_dim: int, embedding_dim: int, normalize: bool
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.neck = neck
        self.embedder = embedder
        self.feature_dim = feature_dim
        self.embedding_dim = embedding_dim
        self.normalize = normalize

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.neck(self.trunk(images))

    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        embeddings = self.embedder(features)
        return F.normalize(embeddings, dim=1) if self.normalize else embeddings

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed_features(self.features(images))


class FeatureView(nn.Module):
    """A model seen up to its features: ``forward(x) = model.features(x)`` (what the DAML authors' code
    validates during pre-training, when the metric head has not trained yet)."""

    def __init__(self, model: EmbeddingModel) -> None:
        super().__init__()
        self.model = model
        self.embedding_dim = model.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.features(images)


def identity_linear(size: int) -> nn.Linear:
    layer = nn.Linear(size, size)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(size))
        layer.bias.zero_()
    return layer


def freeze_batchnorm(module: nn.Module) -> None:
    """Put every BatchNorm layer in eval mode so its running statistics stay fixed."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.eval()


def build_model(config: ModelConfig, load_weights: bool | None = None) -> EmbeddingModel:
    """The embedding model described by `config` (backbone from the registry).

    `load_weights` defaults to `config.pretrained` or a `config.weights` file; pass False when a checkpoint
    supplies the weights.
    """
    if config.backbone not in BACKBONES:
        raise ConfigError(f"unknown backbone '{config.backbone}'", f"choose one of {', '.join(BACKBONES)}")
    if config.embedding_dim < 1:
        raise ConfigError("'model.embedding_dim' must be at least 1")
    if load_weights is None:
        load_weights = config.pretrained or bool(config.weights)
    trunk, trunk_dim = BACKBONES[config.backbone](config, load_weights)
    size = config.embedding_dim
    if config.layout == "official":
        neck = nn.Sequential(nn.BatchNorm1d(trunk_dim), nn.Linear(trunk_dim, size), L2Normalize())
        embedder = nn.Sequential(identity_linear(size), nn.ReLU(), identity_linear(size))
        return EmbeddingModel(trunk, neck, embedder, size, size, normalize=False)
    return EmbeddingModel(trunk, nn.Identity(), nn.Linear(trunk_dim, size), trunk_dim, size, config.normalize)

"""Backbone registry: name -> trunk module producing a pooled feature vector, and its width."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from daml_cli.config.schema import ModelConfig
from daml_cli.errors import CheckpointError
from daml_cli.models.pretrained import load_imagenet_state_dict
from daml_cli.models.small_cnn import SmallCNN
from daml_cli.models.weights_file import load_weights_file


def _load(model: nn.Module, weights: object, config: ModelConfig) -> None:
    """`model.weights` (a local file) when set, else torchvision's ImageNet weights."""
    if config.weights:
        load_weights_file(config.weights, model)
        return
    state = load_imagenet_state_dict(weights)
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as error:
        raise CheckpointError(f"ImageNet weights do not fit the backbone: {str(error).splitlines()[0]}") from None


def googlenet(config: ModelConfig, load_weights: bool) -> tuple[nn.Module, int]:
    """torchvision GoogLeNet (Inception-v1) without aux heads or classifier: 1024-d pool5 feature.

    With ImageNet weights the input transform of the TF-ported weights is on, as torchvision sets it.
    """
    from torchvision.models import GoogLeNet_Weights
    from torchvision.models import googlenet as tv_googlenet

    model = tv_googlenet(weights=None, aux_logits=False, init_weights=not load_weights, transform_input=config.pretrained)
    if load_weights:
        _load(model, GoogLeNet_Weights.IMAGENET1K_V1, config)
    model.fc = nn.Identity()
    model.dropout = nn.Identity()
    return model, 1024


def resnet50(config: ModelConfig, load_weights: bool) -> tuple[nn.Module, int]:
    """torchvision ResNet-50 without its classifier: 2048-d pooled feature."""
    from torchvision.models import ResNet50_Weights
    from torchvision.models import resnet50 as tv_resnet50

    model = tv_resnet50(weights=None)
    if load_weights:
        _load(model, ResNet50_Weights.IMAGENET1K_V1, config)
    model.fc = nn.Identity()
    return model, 2048


def small_cnn(config: ModelConfig, load_weights: bool) -> tuple[nn.Module, int]:
    """Four conv blocks of `model.width` channels (no ImageNet weights exist for it; `model.weights` may init it)."""
    model = SmallCNN(width=config.width)
    if load_weights and config.weights:
        load_weights_file(config.weights, model)
    return model, model.feature_dim


# Each constructor takes the model config and whether to load weights now (`model.weights` or ImageNet) (False when a checkpoint
# will supply every weight).
BACKBONES: dict[str, Callable[[ModelConfig, bool], tuple[nn.Module, int]]] = {
    "small_cnn": small_cnn,
    "googlenet": googlenet,
    "resnet50": resnet50,
}


def verify_weights_file(config: ModelConfig) -> str:
    """Build the backbone with `model.weights` (raising on any missing or misshapen tensor); the file's SHA-256."""
    from daml_cli.models.weights_file import weights_sha256

    BACKBONES[config.backbone](config, True)
    return weights_sha256(config.weights)

"""A small 4-block convolutional trunk for CPU runs, the demo and the Omniglot benchmark."""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3×3 convolution, BatchNorm, ReLU, 2×2 max-pool: halves the spatial size."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class SmallCNN(nn.Module):
    """Four conv blocks of `width` channels, then global average pooling to a `width`-d feature."""

    def __init__(self, width: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            conv_block(in_channels, width), conv_block(width, width), conv_block(width, width), conv_block(width, width)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = width

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.blocks(images)), 1)

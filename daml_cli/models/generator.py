"""The DAML hard-negative generator: ``x̃⁻ = G([x⁻; x; x⁺])`` in the feature space of the metric model."""

from __future__ import annotations

import torch
from torch import nn


class HardNegativeGenerator(nn.Module):
    """Maps the concatenated features of (negative, anchor, positive) to one synthetic negative feature.

    Layouts:
    - ``mlp3`` (default; the three-layer perceptron of the GeDML reading of the paper): Linear -> BatchNorm ->
      ReLU, twice, then a Linear output layer of the feature width. The output is left unconstrained so
      synthetics can reach any feature a real image can produce.
    - ``official`` (the authors' Chainer code): Linear(3F -> H) -> ReLU -> Linear(H -> F) -> ReLU, weights
      drawn from N(0, 0.02).
    """

    def __init__(self, feature_dim: int, hidden_dim: int = 0, layout: str = "mlp3") -> None:
        super().__init__()
        hidden = hidden_dim or feature_dim
        self.feature_dim = feature_dim
        if layout == "mlp3":
            self.net = nn.Sequential(
                nn.Linear(3 * feature_dim, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, hidden),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, feature_dim),
            )
        elif layout == "official":
            self.net = nn.Sequential(
                nn.Linear(3 * feature_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, feature_dim), nn.ReLU()
            )
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    nn.init.normal_(layer.weight, 0.0, 0.02)
                    nn.init.zeros_(layer.bias)
        else:
            raise ValueError(f"unknown generator layout {layout!r}")

    def forward(self, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([negative, anchor, positive], dim=1))

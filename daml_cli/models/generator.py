"""The DAML hard-negative generator: ``x̃⁻ = G([x⁻; x; x⁺])`` in the feature space of the metric model.

The input order is a setting: ``nap`` = ``[x⁻; x; x⁺]`` (the paper's notation), ``apn`` = ``[x; x⁺; x⁻]``
(the authors' code). With random initial weights the two differ only in which weight block reads which input.

The generator only exists during training (its weights travel in the objective's state for resuming); the
embedding model used at test time does not contain it.
"""

from __future__ import annotations

import torch
from torch import nn


def mlp3(feature_dim: int, hidden: int) -> nn.Sequential:
    """Three linear layers, ``3F -> H -> H -> F``, with BatchNorm + ReLU after the first two.

    The spec's recommended layout (GeDML's "three-layer perceptron"). The output layer is plain linear, so a
    synthetic negative can be any feature vector, not only one in the positive orthant.
    """
    return nn.Sequential(
        nn.Linear(3 * feature_dim, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, feature_dim),
    )


def official(feature_dim: int, hidden: int) -> nn.Sequential:
    """The authors' Chainer generator, ``Linear(3F -> H) -> ReLU -> Linear(H -> F)``, weights ~ N(0, 0.02).

    The Chainer code ends with one more ReLU, a quirk not copied here, since
    the official features are L2-normalised and have negative coordinates a final ReLU could never reach.
    """
    net = nn.Sequential(nn.Linear(3 * feature_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, feature_dim))
    for layer in net:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)
    return net


LAYOUTS = {"mlp3": mlp3, "official": official}
ORDERS = ("nap", "apn")


class HardNegativeGenerator(nn.Module):
    """Maps the concatenated features of (negative, anchor, positive) to one synthetic negative feature.

    `layout` is ``mlp3`` (default) or ``official`` (see the functions of the same names); `hidden_dim` 0
    means the feature width, as in GeDML's 3072 -> 1024 -> 1024 -> 1024 for GoogLeNet. `order` is the
    concatenation order (module docstring); `final_relu` appends the authors' output ReLU, which confines
    synthetics to the positive orthant although real unit-norm features have negative coordinates.
    """

    def __init__(
        self, feature_dim: int, hidden_dim: int = 0, layout: str = "mlp3", order: str = "nap", final_relu: bool = False
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"unknown generator layout {layout!r}; use one of {', '.join(LAYOUTS)}")
        if order not in ORDERS:
            raise ValueError(f"unknown generator input order {order!r}; use one of {', '.join(ORDERS)}")
        if feature_dim < 1 or hidden_dim < 0:
            raise ValueError(f"generator widths must be positive, got feature {feature_dim}, hidden {hidden_dim}")
        self.feature_dim = feature_dim
        self.layout = layout
        self.order = order
        self.net = LAYOUTS[layout](feature_dim, hidden_dim or feature_dim)
        if final_relu:
            self.net.append(nn.ReLU())

    def _ordered(self, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (negative, anchor, positive) if self.order == "nap" else (anchor, positive, negative)

    def forward(self, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
        """``x̃⁻ = G(concatenation of x⁻, x, x⁺ in `order`)`` row by row: three (N, F) inputs, one (N, F) output."""
        return self._run(self.net, torch.cat(self._ordered(negative, anchor, positive), dim=1))

    def from_batch(
        self, features: torch.Tensor, negative: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor
    ) -> torch.Tensor:
        """``G([x_{negative_s}; x_{anchor_s}; x_{positive_s}])`` for index vectors into the batch `features` (B, F).

        Equal to `forward` on the gathered rows, computed faster when slots outnumber batch items (N-pair
        makes N(N−1) slots from 2N images): the first layer is linear, so ``W·[x⁻; x; x⁺] = W₁x⁻ + W₂x + W₃x⁺``
        and each block is applied to the B batch rows once, then gathered per slot.
        """
        first = self.net[0]
        blocks = first.weight.split(self.feature_dim, dim=1)
        hidden = first.bias
        for block, index in zip(blocks, self._ordered(negative, anchor, positive)):
            hidden = hidden + (features @ block.T).index_select(0, index)
        return self._run(self.net[1:], hidden)

    def _run(self, layers: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        """`layers` on `inputs`; one training row makes BatchNorm use its running statistics for the call."""
        if not (self.training and inputs.shape[0] == 1):
            return layers(inputs)
        norms = [m for m in layers.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for module in norms:
            module.eval()
        try:
            return layers(inputs)
        finally:
            for module in norms:
                module.train()

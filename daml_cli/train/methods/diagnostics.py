"""Whether synthetic negatives are hard and stay what they should be: shared by the synthesis methods."""

from __future__ import annotations

import torch


def synthetic_diagnostics(
    synthetic: torch.Tensor, anchor: torch.Tensor, negative: torch.Tensor, hinge: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Mean ``||x̃−x|| / ||x−x⁻||`` and ``||x̃−x⁻|| / ||x−x⁻||`` per tuple, and the fraction of active hinges.

    Rows i of `synthetic`, `anchor`, `negative` form one tuple (one space: features for DAML); `hinge` is the
    per-tuple hinge of the adversarial term. ``syn_to_anchor`` near 0 means the synthetics collapsed onto
    their anchors (label noise); an interpolation ``x + t(x⁻ − x)`` gives ``syn_to_anchor = t`` and
    ``syn_to_negative = 1 − t``.
    """
    with torch.no_grad():
        if synthetic.shape[0] == 0:
            zero = synthetic.new_zeros(())
            return {"syn_to_anchor": zero, "syn_to_negative": zero, "adv_active": zero}
        scale = (anchor - negative).norm(dim=1).clamp_min(1e-12)
        return {
            "syn_to_anchor": ((synthetic - anchor).norm(dim=1) / scale).mean(),
            "syn_to_negative": ((synthetic - negative).norm(dim=1) / scale).mean(),
            "adv_active": (hinge > 0).to(synthetic.dtype).mean(),
        }

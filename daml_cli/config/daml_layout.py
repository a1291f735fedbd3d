"""``daml.layout``: one key that sets every piece in which our DAML and the authors' Chainer code differ.

A layout is a table of dotted keys and values. Config loading writes each into the merged preset +
``--set`` data *only where that key is not set explicitly*, so every piece stays switchable on its own:
``--set daml.layout=official --set daml.half_hinge=false`` is the official layout without the ½ factors.
Batch sampling (``sampler.kind``, ``loss.triplets``) is not part of a layout: it is a preset's own choice,
shared with its baseline twin. The saved ``config.yaml`` holds every resolved value, so a run reproduces
whatever the tables below become.
"""

from __future__ import annotations

from typing import Any

from daml_cli.errors import ConfigError

OFFICIAL_WEIGHT_DECAY = 1.09216e-3  # the authors' L2 decay, added to the gradients of all four optimisers

LAYOUTS: dict[str, dict[str, Any]] = {
    # The authors' code (anonymous1computervision/DAML main_triplet.py, lib/common/utils.py).
    "official": {
        "model.layout": "official",  # BN → Linear → L2-normalise features; identity-initialised 2-layer metric
        "optim.weight_decay": OFFICIAL_WEIGHT_DECAY,
        "daml.generator": "official",  # Linear → ReLU → Linear, N(0, 0.02)
        "daml.generator_relu": False,  # their final ReLU is left out (README): switch on to copy it
        "daml.input_order": "apn",
        "daml.half_hinge": True,
        "daml.lambda_reg": 1.0,
        "daml.lambda_adv": 1.0,
        "daml.lambda_metric": 1.0,
        "daml.update": "joint",
        "daml.detach_real": False,  # their J_hard/J_reg/J_m reach the CNN (at lr/1000)
        "daml.joint_trunk_lr_scale": 0.001,
        "daml.pretrain_on": "features",
        "daml.gen_warmup_iters": 0,
        "daml.keep_real_loss": False,
        "daml.joint_fresh_optimizer": True,  # their joint phase builds new optimisers
        "daml.pretrain_validate_on": "features",  # their pre-training evaluation scores the raw features
    },
    # GeDML's reading of the paper with the weights two re-implementations chose: the schema's field defaults.
    "gedml": {
        "model.layout": "standard",
        "optim.weight_decay": 0.0,
        "daml.generator": "mlp3",
        "daml.generator_relu": False,
        "daml.input_order": "nap",
        "daml.half_hinge": False,
        "daml.lambda_reg": 1.0,
        "daml.lambda_adv": 50.0,
        "daml.lambda_metric": 1.0,
        "daml.update": "joint",
        "daml.detach_real": True,
        "daml.joint_trunk_lr_scale": 1.0,
        "daml.pretrain_on": "embedding",
        "daml.gen_warmup_iters": 0,
        "daml.keep_real_loss": False,
        "daml.joint_fresh_optimizer": False,
        "daml.pretrain_validate_on": "embedding",
    },
}


def _lookup(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def unset_layout_keys(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """(dotted key, value) of ``data['daml']['layout']``'s table for every key `data` leaves unset."""
    found, name = _lookup(data, "daml.layout")
    if not found:
        return []
    if name not in LAYOUTS:
        raise ConfigError(f"unknown daml.layout '{name}'", f"use one of {', '.join(LAYOUTS)}")
    return [(dotted, value) for dotted, value in LAYOUTS[name].items() if not _lookup(data, dotted)[0]]

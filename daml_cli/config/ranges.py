"""Value ranges the typed schema cannot express, checked before a run starts (and on preprocessing read
back from checkpoints, index sidecars and EMB.npz files, which must satisfy the same rules)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from daml_cli.errors import ConfigError, DamlError
from daml_cli.safety.terminal import quote

MAX_IMAGE_SIDE = 4096  # larger crops or resizes are a typo (or a multi-GB allocation waiting to happen)


def _fail(key: str, rule: str, value: Any) -> ConfigError:
    return ConfigError(f"'{key}' must be {rule}, got {quote(value)}")


def _finite_at_least(key: str, value: float, low: float, strict: bool = False) -> None:
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise _fail(key, f"a finite number {'above' if strict else 'of at least'} {low:g}", value)


def _int_between(key: str, value: int, low: int, high: int | None = None) -> None:
    if value < low or (high is not None and value > high):
        raise _fail(key, f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}", value)


def check_image_settings(resize: int, crop: int, mean: list[float], std: list[float], prefix: str = "data.",
                         crop_key: str = "image_size") -> None:
    """Resize and crop sizes within 1..MAX_IMAGE_SIDE (crop <= resize), three finite means, three stds > 0."""
    _int_between(f"{prefix}resize", resize, 1, MAX_IMAGE_SIDE)
    _int_between(f"{prefix}{crop_key}", crop, 1, MAX_IMAGE_SIDE)
    if crop > resize:
        raise ConfigError(f"'{prefix}{crop_key}' ({crop}) is larger than '{prefix}resize' ({resize})",
                          "the crop is taken from the resized image; make it at most the resize")
    for name, values, low, strict in (("mean", mean, -math.inf, False), ("std", std, 0.0, True)):
        if len(values) != 3:
            raise _fail(f"{prefix}{name}", "a list of 3 numbers (one per RGB channel)", values)
        for i, value in enumerate(values):
            if strict:
                _finite_at_least(f"{prefix}{name}[{i}]", value, low, strict=True)
            elif not math.isfinite(value):
                raise _fail(f"{prefix}{name}[{i}]", "a finite number", value)


def check_ranges(config: Any) -> None:
    """Every numeric setting of a RunConfig within its sensible range; a ConfigError naming the first key not."""
    data, train, optim, sampler = config.data, config.train, config.optim, config.sampler
    _int_between("seed", config.seed, 0, 2**32 - 1)
    check_image_settings(data.resize, data.image_size, data.mean, data.std)
    if not 0.0 <= data.val_classes or not math.isfinite(data.val_classes):
        raise _fail("data.val_classes", "a fraction below 1 or a number of classes (0 = none)", data.val_classes)
    if data.workers != "auto":
        _int_between("data.workers", data.workers, 0, 256)
    _int_between("model.embedding_dim", config.model.embedding_dim, 1)
    _int_between("model.width", config.model.width, 1)
    _int_between("train.iterations", train.iterations, 1)
    _int_between("train.eval_every", train.eval_every, 0)
    _int_between("train.log_every", train.log_every, 1)
    _int_between("train.batch_size_eval", train.batch_size_eval, 1)
    _int_between("sampler.classes_per_batch", sampler.classes_per_batch, 2)
    _int_between("sampler.images_per_class", sampler.images_per_class, 2)
    for key in ("lr_trunk", "lr_embedder", "lr_generator", "weight_decay"):
        _finite_at_least(f"optim.{key}", getattr(optim, key), 0.0)
    loss = config.loss
    for key in ("margin", "l2_reg", "lifted_margin"):
        _finite_at_least(f"loss.{key}", getattr(loss, key), 0.0)
    _int_between("loss.negatives_per_pair", loss.negatives_per_pair, 1)
    _int_between("loss.max_negatives", loss.max_negatives, 0)
    check_daml_ranges(config.daml)
    for i, k in enumerate(config.eval.k):
        _int_between(f"eval.k[{i}]", k, 1)


def check_daml_ranges(daml: Any) -> None:
    """DAML's counts >= 0 and weights finite and >= 0 (also checked by the DAML objective when built directly)."""
    _int_between("daml.pretrain_iters", daml.pretrain_iters, 0)
    _int_between("daml.gen_warmup_iters", daml.gen_warmup_iters, 0)
    _int_between("daml.generator_hidden", daml.generator_hidden, 0)
    for key in ("lambda_reg", "lambda_adv", "lambda_metric", "adv_margin", "joint_trunk_lr_scale", "collapse_threshold"):
        _finite_at_least(f"daml.{key}", getattr(daml, key), 0.0)


def check_preprocessing(
    spec: Any, source: str, error: Callable[[str, str | None], DamlError], complete: bool = True
) -> dict[str, Any]:
    """Validate a preprocessing dict read from a file (checkpoint, index sidecar, EMB.npz) like the config.

    Same types and ranges as ``data.resize``, ``data.image_size``, ``data.mean`` and ``data.std``; the
    error (built by `error`, e.g. CheckpointError) names `source` and the key. With `complete` all four keys
    must be present; otherwise only those present are checked. Returns a clean copy.
    """
    from daml_cli.config.validate import coerce

    hint = "the file was edited or damaged; re-create it with daml"
    if not isinstance(spec, dict):
        raise error(f"{source}: preprocessing must be an object, got {type(spec).__name__}", hint)
    missing = [key for key in ("resize", "crop", "mean", "std") if key not in spec]
    if missing and complete:
        raise error(f"{source}: preprocessing lacks {', '.join(missing)}", hint)
    types = {"resize": int, "crop": int, "mean": list[float], "std": list[float]}
    clean = dict(spec)
    try:
        for key, annotation in types.items():
            if key in spec:
                clean[key] = coerce(annotation, spec[key], f"preprocessing.{key}")
        check_image_settings(
            clean.get("resize", MAX_IMAGE_SIDE), clean.get("crop", min(clean.get("resize", 1), MAX_IMAGE_SIDE)),
            clean.get("mean", [0.0, 0.0, 0.0]), clean.get("std", [1.0, 1.0, 1.0]),
            prefix="preprocessing.", crop_key="crop",
        )
    except ConfigError as problem:
        raise error(f"{source}: {problem.message}", hint) from None
    return clean

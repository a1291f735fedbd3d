"""The typed schema every preset is validated against. Each field's comment says what it controls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BackboneName = Literal["small_cnn", "googlenet", "resnet50"]
LossName = Literal["triplet", "npair", "lifted", "contrastive", "multi_similarity", "proxy_anchor"]
TripletStrategy = Literal["all", "random", "semihard", "easy", "official"]


@dataclass
class DataConfig:
    dataset: str = "digits"  # folder under the data root holding manifest.csv
    root: str = "data"  # data root; `--data-root` overrides it
    image_size: int = 32  # side of the square crop fed to the network
    resize: int = 36  # shorter side before cropping
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    augment: bool = True  # random crop + horizontal flip during training
    hflip: bool = True  # horizontal flip in training augmentation (off for characters and digits)
    val_classes: float = 0.2  # fraction of training classes held out as the validation split (0 = none)
    workers: int | Literal["auto"] = "auto"  # DataLoader worker processes; auto = min(8, CPUs - 1)
    cache_mb: int = 1024  # keep decoded training images in memory up to this many MiB per process (0 = off)


@dataclass
class ModelConfig:
    backbone: BackboneName = "small_cnn"
    pretrained: bool = False  # ImageNet weights from torchvision's cache
    weights: str = ""  # a local state-dict file for the backbone instead (offline machines); checked tensor by tensor
    embedding_dim: int = 128
    normalize: bool = True  # L2-normalise embeddings
    width: int = 64  # channels of the small CNN
    freeze_bn: bool = False  # keep trunk BatchNorm statistics fixed
    layout: Literal["standard", "official"] = "standard"  # see models/embedding.py and the README's DAML section


@dataclass
class LossConfig:
    name: LossName = "triplet"
    margin: float = 0.2  # α of triplet (squared distances) and contrastive
    squared: bool = True  # triplet/contrastive on squared Euclidean distances, as the DAML spec writes them
    triplets: TripletStrategy = "semihard"  # how negatives are chosen per (anchor, positive) pair; official: batch = [a; p; n]
    negatives_per_pair: int = 1  # for triplets: random/easy
    l2_reg: float = 3e-3  # N-pair embedding L2 penalty
    lifted_margin: float = 1.0  # α of lifted structure (non-squared distances)
    max_negatives: int = 0  # lifted: cap negatives per anchor (0 = all)
    # Multi-Similarity (name: multi_similarity), on cosine similarities with the official pair miner
    ms_alpha: float = 2.0  # α, scale of the positive term
    ms_beta: float = 50.0  # β, scale of the negative term (PML's and the Proxy-Anchor code's; the official MS config uses 40)
    ms_base: float = 0.5  # λ, the similarity both terms are centred on
    ms_epsilon: float = 0.1  # ε, pair-mining margin: keep negatives with S + ε > min positive S, positives with S − ε < max negative S
    # Proxy-Anchor (name: proxy_anchor), one learnable proxy per training class
    pa_alpha: float = 32.0  # α, scale of both terms
    pa_delta: float = 0.1  # δ, margin
    proxy_lr_multiplier: float = 100.0  # proxies' learning rate = this × optim.lr_embedder (official: 100)
    proxy_warmup_steps: int = 0  # first steps with the trunk frozen: only the embedder and the proxies train (official: 1 epoch)


@dataclass
class SamplerConfig:
    kind: Literal["pk", "triplets"] = "pk"  # P×K class-balanced batches, or the authors' [anchors; positives; negatives]
    classes_per_batch: int = 16  # P
    images_per_class: int = 4  # K
    triplets_per_batch: int = 40  # kind=triplets: T triplets of 3T distinct-class images (the authors' code: 40, batch 120)


@dataclass
class OptimConfig:
    lr_trunk: float = 1e-3
    lr_embedder: float = 1e-3
    lr_generator: float = 1e-4
    weight_decay: float = 0.0
    scheduler: Literal["none", "cosine"] = "none"  # cosine: linear warm-up, then half a cosine down to zero
    warmup_steps: int = 0  # steps of linear warm-up before the cosine decay (cosine only)


@dataclass
class DamlConfig:
    """Deep Adversarial Metric Learning: a generator turns easy negatives into synthetic hard ones.

    Field defaults are the ``gedml`` layout; ``layout: official`` (config/daml_layout.py) fills every piece it
    implies that a preset or ``--set`` leaves unset with the authors' value (README, "our DAML vs the authors' code").
    """

    enabled: bool = False  # train with synthetic hard negatives (see the DAML section of the README)
    layout: Literal["official", "gedml"] = "gedml"  # the set of defaults for the pieces below; see config/daml_layout.py
    pretrain_iters: int = 0  # metric-only steps on the plain base loss before the generator starts
    gen_warmup_iters: int = 0  # generator-only steps on J_gen with the metric frozen, before the joint phase
    update: Literal["joint", "alternating"] = "joint"  # one summed backward, or G on J_gen / metric on J_m
    lambda_reg: float = 1.0  # λ1, weight of J_reg
    lambda_adv: float = 50.0  # λ2, weight of J_adv
    lambda_metric: float = 1.0  # λ, weight of J_m in J = J_gen + λ·J_m
    adv_margin: float = 1.0  # α inside J_adv (squared embedding distances), separate from loss margins
    keep_real_loss: bool = False  # also train on real negatives in the joint phase (PML style)
    negatives: Literal["loss", "easy", "random"] = "loss"  # which real negatives feed the generator (triplet)
    generator: Literal["mlp3", "official"] = "mlp3"  # 3-layer MLP with BatchNorm, or the Chainer code's 2-layer
    generator_hidden: int = 0  # hidden width of the generator (0 = the feature width)
    detach_real: bool = True  # real features reach the generator and J_hard/J_reg detached: G fits them, never moves them
    joint_trunk_lr_scale: float = 1.0  # multiply the trunk's learning rate in the joint phase (official: 0.001)
    collapse_threshold: float = 0.05  # synthetics count as collapsed when mean ||x̃−x|| / ||x−x⁻|| falls below this
    on_collapse: Literal["restore", "stop", "warn"] = "restore"  # restore the last good generator and skip the step, stop the run, or only warn
    half_hinge: bool = False  # multiply J_adv and J_m by ½, as the authors' code does
    input_order: Literal["nap", "apn"] = "nap"  # generator input [x⁻; x; x⁺] (paper) or [x; x⁺; x⁻] (authors' code)
    generator_relu: bool = False  # end the generator with a ReLU, as the authors' code does (off: see the README)
    pretrain_on: Literal["embedding", "features"] = "embedding"  # pre-training loss on f(x), or on x with f untouched (authors' code)
    pretrain_validate_on: Literal["embedding", "features"] = "embedding"  # validation during pre-training scores f(x), or the raw features x (authors' code)
    joint_fresh_optimizer: bool = False  # the joint phase starts the metric's Adam afresh (authors' code), not with pre-training's state


@dataclass
class EeConfig:
    """Embedding Expansion (Ko & Gu, CVPR 2020; ``synthesis: ee``): synthetic points between same-class pairs,
    hard-pair mining over real and synthetic points. No parameters; see train/methods/ee.py."""

    n_inner_pts: int = 2  # n, synthetic points per same-class pair, evenly spaced on its segment (authors: 2)
    normalize: bool = True  # re-L2-normalise every synthetic point (authors' ee_l2norm: on)
    duplicates: Literal["keep", "drop"] = "keep"  # rows i and its partner make the same points: both copies (authors) or one


@dataclass
class HdmlConfig:
    """Hardness-Aware Deep Metric Learning (Zheng et al. 2019) in the authors' TF code's form (train/methods/hdml.py).

    α and β compare with loss values, so they depend on the loss's scale: the authors' J_m is a *summed* triplet
    loss (or N-pair) plus weight decay, ours a mean without it (see train/methods/hdml.py).
    """

    alpha: float = 90.0  # α in the pulling e^(−α/J_avg) (the authors' default; GeDML documents 7 for triplet)
    beta: float = 1e4  # β in the weight e^(−β/J_gen) of J_m in J_metric (authors: 1e4 for Cars, 5e3 otherwise)
    lambda_gen: float = 0.5  # λ: J_recon is weighted 1 − λ, J_soft S·λ (the authors' `_lambda`)
    softmax_factor: float = 1e4  # S, the factor on J_soft (the authors' `Softmax_factor`)
    average_block: int = 64  # J_avg and J_gen are means over blocks of this many steps (starting at 1e6)
    average_weighted: bool = True  # J_avg averages e^(−β/J_gen)·J_m, as the authors' code does; false: plain J_m
    lr_classifier: float = 1e-3  # Adam rate of the softmax classifier (authors: 1e-3); the generator's is optim.lr_generator (authors: 1e-2)


@dataclass
class TrainConfig:
    iterations: int = 600
    eval_every: int = 200  # validation evaluation period in iterations (0 = only at the end)
    log_every: int = 20  # metrics.jsonl period in iterations
    batch_size_eval: int = 256
    select_metric: str = "recall@1"  # validation metric that chooses best.pt
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # autocast: auto = bf16 on a GPU, off on the CPU
    channels_last: bool = True  # memory format of image batches (faster convolutions on CPU and GPU)
    compile: bool = False  # torch.compile the trunk
    init: str = ""  # checkpoint whose trunk/neck/embedder weights start this run (`daml train --init`); "" = fresh
    init_sha256: str = ""  # SHA-256 of `init`, recorded by `daml train --init` so the run reproduces


@dataclass
class EvalConfig:
    k: list[int] = field(default_factory=lambda: [1, 2, 4, 8])


SynthesisName = Literal["none", "daml", "hdml", "ee"]


@dataclass
class RunConfig:
    seed: int = 0
    synthesis: SynthesisName = "none"  # how negatives are synthesised: none, daml, hdml, ee (daml.enabled: true = daml)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    daml: DamlConfig = field(default_factory=DamlConfig)
    ee: EeConfig = field(default_factory=EeConfig)
    hdml: HdmlConfig = field(default_factory=HdmlConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

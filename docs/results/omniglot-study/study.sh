#!/usr/bin/env bash
# The DAML study of docs/results/omniglot.md: regimes (a), (b), (c), 5 seeds, made with `daml compare`.
# Run it from docs/results/omniglot-study/ (or a copy): the committed report.json of each regime lets
# `daml compare` reuse every finished run without its folder, so only missing runs train. To redo a regime,
# move its report.json away. Needs the two Omniglot zips (see docs/results/omniglot.md) in data/downloads/.
set -euo pipefail
SEEDS=0,1,2,3,4
V="baseline=omniglot-triplet official=omniglot-triplet-daml-official tuned=omniglot-triplet-daml"
NV="baseline=omniglot-npair official=omniglot-npair-daml-official tuned=omniglot-npair-daml"

daml prepare omniglot data --resize 28          # a 28 px copy: the presets train at 28 px

# (a) a short budget: 400 steps (DAML: a fifth / a quarter of it as pre-training, as before).
daml compare $V --seeds $SEEDS --data-root data --out a-triplet --set train.iterations=400 \
    --set train.eval_every=50 --set-for official:daml.pretrain_iters=80 --set-for tuned:daml.pretrain_iters=100 --jobs 2

# (b) past the baseline's validation plateau: 800 steps (the plateau is at ~400 steps, see the doc).
daml compare $V --seeds $SEEDS --data-root data --out b-triplet \
    --set train.iterations=800 --set train.eval_every=100 --jobs 2

# (c) fine-tuning: every variant starts (train.init) from its seed's converged baseline and trains 200 more
# steps. Triplet: the (b) baseline's best.pt; N-pair: an 800-step N-pair baseline.
FT="--set train.iterations=200 --set train.eval_every=50 --set-for official:daml.pretrain_iters=40
    --set-for tuned:daml.pretrain_iters=0 --set-for tuned:daml.gen_warmup_iters=25"
daml compare $V --seeds $SEEDS --data-root data --out c-triplet $FT \
    --set 'train.init=b-triplet/runs/baseline/seed{seed}/checkpoints/best.pt' --jobs 2
daml compare base=omniglot-npair --seeds $SEEDS --data-root data --out c-npair-base \
    --set train.iterations=800 --set train.eval_every=100 --jobs 2
daml compare $NV --seeds $SEEDS --data-root data --out c-npair $FT \
    --set 'train.init=c-npair-base/runs/base/seed{seed}/checkpoints/best.pt' --jobs 2

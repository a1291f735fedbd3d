#!/usr/bin/env bash
# The synthesis-family study of docs/results/family.md: triplet and Multi-Similarity, each with no synthesis,
# DAML, HDML and Embedding Expansion, and Proxy-Anchor as a reference row; Omniglot, 5 seeds, `daml compare`.
# Run it from docs/results/family-study/ (or a copy): the committed report.json of each step lets `daml compare`
# reuse every finished run without its folder, so only missing runs train. Needs the two Omniglot zips in
# data/downloads/ (see docs/results/omniglot.md) or `--source DIR` below.
#
# Equal tuning, fixed before any run: every variant gets two validation trials on seed 0, and the one with the
# better best validation MAP@R (validation characters only) runs the 5 seeds:
#   no synthesis, HDML, EE, Proxy-Anchor: the preset as shipped, and both learning rates x2 (0.002);
#   DAML: the tuned preset and the official layout (the "better of tuned and official").
set -euo pipefail
SEEDS=0,1,2,3,4
SOURCE=${SOURCE:-data/downloads}
daml prepare omniglot data --source "$SOURCE" --resize 28

LR2() { for name in "$@"; do printf -- '--set-for %s:optim.lr_trunk=0.002 --set-for %s:optim.lr_embedder=0.002 ' "$name" "$name"; done; }
TRIALS="tri=omniglot-triplet tri-lr2=omniglot-triplet tri-daml-tuned=omniglot-triplet-daml
    tri-daml-official=omniglot-triplet-daml-official tri-hdml=omniglot-triplet-hdml tri-hdml-lr2=omniglot-triplet-hdml
    tri-ee=omniglot-triplet-ee tri-ee-lr2=omniglot-triplet-ee
    ms=omniglot-ms ms-lr2=omniglot-ms ms-daml-tuned=omniglot-ms-daml ms-daml-official=omniglot-ms-daml-official
    ms-hdml=omniglot-ms-hdml ms-hdml-lr2=omniglot-ms-hdml ms-ee=omniglot-ms-ee ms-ee-lr2=omniglot-ms-ee
    pa=omniglot-proxy-anchor pa-lr2=omniglot-proxy-anchor"
LR2_TRIALS=$(LR2 tri-lr2 tri-hdml-lr2 tri-ee-lr2 ms-lr2 ms-hdml-lr2 ms-ee-lr2 pa-lr2)

# (a) 400 steps from scratch (DAML: 100 / 80 pre-training steps, as in the DAML study).
A="--set train.iterations=400 --set train.eval_every=50 --set-for tri-daml-tuned:daml.pretrain_iters=100
   --set-for tri-daml-official:daml.pretrain_iters=80 --set-for ms-daml-tuned:daml.pretrain_iters=100
   --set-for ms-daml-official:daml.pretrain_iters=80"
daml compare $TRIALS --seeds 0 --data-root data --out a-trials $A $LR2_TRIALS --jobs 2

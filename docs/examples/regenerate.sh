#!/usr/bin/env bash
# Regenerate the example views in docs/examples/ from real runs on Omniglot (CPU, one thread):
#   curves.png                      a 400-step omniglot-triplet-daml run (pretrain 250, gen_warmup 25, joint 125)
#   compare-curves.png              daml compare omniglot-triplet omniglot-triplet-daml, seeds 0,1, 150 steps each
#                                   (DAML pre-trains 75 of them)
#   retrieval.html, retrieval-grid.png  4 test queries, top 8, in that 400-step run's test gallery
#   tsne.png                        1000 of its 2120 test embeddings
#   demo-80-columns.txt             what `daml demo` prints on an 80-column terminal (stdout)
# Usage: docs/examples/regenerate.sh [WORK] [FOLDER_WITH_THE_OMNIGLOT_ZIPS]
# Runs are kept in WORK (default /tmp/daml-examples) and reused by a rerun; the figures are always redrawn.
# Set PYTHON to the interpreter that has daml_cli's dependencies (default: python).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/daml-examples}
zips=$(cd "${2:-$repo/../shared/datasets/omniglot}" && pwd)
out=$repo/docs/examples
python=${PYTHON:-python}
export PYTHONPATH=$repo OMP_NUM_THREADS=1
daml() { "$python" -m daml_cli "$@"; }

mkdir -p "$work" && cd "$work"  # relative paths from here on: the pages name data/omniglot/..., not $work
daml prepare omniglot data --source "$zips"

if [ ! -f run/checkpoints/last.pt ]; then
  daml train -p omniglot-triplet-daml --data-root data --out run --device cpu \
    --set train.iterations=400 --set train.eval_every=100
fi
"$python" - "$out/curves.png" <<'EOF'  # redrawn from metrics.jsonl, titled as the training loop titles it
import json, sys
from daml_cli.report.curves import write_curves
records = [json.loads(line) for line in open("run/metrics.jsonl", encoding="utf-8")]
step = max(r["step"] for r in records if r.get("phase") == "train")
write_curves(records, sys.argv[1], f"run: DAML + triplet on omniglot, step {step}")
EOF

daml compare omniglot-triplet omniglot-triplet-daml --seeds 0,1 --out omniglot-study --data-root data --device cpu \
  --set train.iterations=150 --set train.eval_every=50 --set-for omniglot-triplet-daml:daml.pretrain_iters=75
cp omniglot-study/curves.png "$out/compare-curves.png"

[ -f test.npz ] || daml embed run -o test.npz --index gallery.faiss --data-root data --device cpu
mapfile -t queries < <(awk -F, '$4 == "test" && n++ % 530 == 0 {print "data/omniglot/" $1}' data/omniglot/manifest.csv)
daml retrieve "${queries[@]}" --index gallery.faiss -k 8 --html "$out/retrieval.html" --grid "$out/retrieval-grid.png" \
  --device cpu > /dev/null
sed -i "s|$work/||g" "$out/retrieval.html"  # the index records its root resolved: hover titles name data/... only
daml visualize test.npz -o "$out/tsne.png" --max-points 1000

COLUMNS=80 daml demo --workdir demo --device cpu > "$out/demo-80-columns.txt"

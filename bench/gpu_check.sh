#!/usr/bin/env bash
# GPU check for a lent GPU machine (about 6-8 minutes on one H100). Prints and writes to ${OUT:-gpu_out}/:
#   - AMP training images/s for googlenet and resnet50 at 224 px, baseline and DAML, and the bare backbone's
#     forward+backward rate on the same batch (bench/train_bench.py with --device cuda);
#   - embedding images/s and a 60,502 x 512 evaluation time (bench/eval_bench.py, FAISS GPU when present,
#     torch on CUDA otherwise).
# Usage (from the repository root): bash bench/gpu_check.sh
set -uo pipefail
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print('gpu:', torch.cuda.get_device_name())" || exit 1
pip install -q -e . >/dev/null 2>&1 || pip install -q --no-deps -e . >/dev/null 2>&1
if python3 -c "import faiss; assert faiss.get_num_gpus() > 0" 2>/dev/null; then
  echo "faiss: GPU indexes available"
else
  echo "faiss: no GPU build here; evaluation falls back to torch on CUDA"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 - <<'PY' | tee "$OUT/embed_rate.txt"
import time, torch
from daml_cli.config.schema import ModelConfig
from daml_cli.models.embedding import build_model
for backbone in ("googlenet", "resnet50"):
    model = build_model(ModelConfig(backbone=backbone, embedding_dim=512), load_weights=False).cuda().eval()
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(256, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for _ in range(3): model(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(10): model(x)
        torch.cuda.synchronize()
    print(f"embedding {backbone} 224px bf16: {2560 / (time.perf_counter() - t):.0f} images/s")
PY
timeout 300 python3 bench/train_bench.py --backbones googlenet resnet50 --device cuda --amp auto --steps 20 --warmup 5 \
  --batch-classes 60 --json "$OUT/train_bench.json" 2>&1 | tee "$OUT/train_bench.txt"
timeout 180 python3 bench/eval_bench.py --skip-pml 2>&1 | tee "$OUT/eval_bench.txt"

"""Benchmark `daml`'s evaluation at Stanford Online Products scale against simpler and third-party code.

Data: random, seeded, SOP-sized by default: 60,502 L2-normalised float32 embeddings of dimension 512 in 11,316
classes of 2-12 items (mean 5.35, as the SOP test split). Each class has a random centre; items are the centre
plus Gaussian noise, so the metrics are neither 0 nor 1.

Candidates, each in its own subprocess so that its peak RSS (``ru_maxrss``) is its own:

- ``load``: imports and data loading only (the RSS floor every other candidate pays too);
- ``ours``: ``evaluate_embeddings`` with Recall@1/10/100/1000, MAP@R and R-precision, as ``daml evaluate``
  runs it: the symmetric search (each product block once) listing 32 neighbours, Recall@K past the list from
  counted first-positive ranks;
- ``ours-chunked``: the same metrics with ``symmetric=False``: the one-sided chunked search, k = 1000;
- ``ours-pml-set``: the default path with only what PML computes below (Recall@1, MAP@R, R-precision);
- ``bare``: chunked torch matmul + top-k (k = 1000) with nothing else, the floor for a k = 1000 search;
- ``sklearn``: scikit-learn ``NearestNeighbors(algorithm="brute")``, k = 1000 (+1 for self);
- ``pml``: pytorch-metric-learning ``AccuracyCalculator(include=("precision_at_1",
  "mean_average_precision_at_r", "r_precision"), k="max_bin_count")``, skipped when not installed;
- ``clustering``: ``evaluate_embeddings(metrics=("nmi", "f1"))``: k-means with k = number of classes (default
  budget: ``clustering.default_nredo``, one run of 20 iterations at SOP size);
- ``pml-clustering``: PML ``AccuracyCalculator(include=("NMI",))``: ``faiss.Kmeans(niter=20)`` (nredo 1) + NMI.

Values shared with PML (precision@1 = Recall@1, MAP@R, R-precision) and between ``ours`` and ``ours-chunked``
must agree to 1e-6. ``--rounds R`` repeats the whole list R times, interleaved (ours, reference, ours, ...),
because on a shared machine only ratios taken close together in time mean anything; the table gives every
round.

Usage: ``python bench/eval_bench.py`` (full size: 10-30 minutes on 2 cores), or smaller:
``python bench/eval_bench.py --n 6000 --classes 1100 --skip-pml``; ``--only ours,bare,pml`` reruns a few.
Each candidate's 1-minute load average (start -> end) is printed: timings taken on a busy machine are slow.
The data and machine line come from ``eval_bench_data.py``, the tables and the agreement check from
``eval_bench_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from eval_bench_data import machine, make_data  # bench/ is on sys.path when this file runs as a script
from eval_bench_report import TOLERANCE, check_values, summary, table

CANDIDATES = ("load", "ours", "ours-chunked", "ours-pml-set", "bare", "sklearn", "pml", "clustering",
              "pml-clustering")
KS = (1, 10, 100, 1000)


def run_child(name: str, data_dir: Path, args: argparse.Namespace) -> dict[str, object]:
    """Run one candidate in this process; return its seconds and values (RSS is added by the caller)."""
    import torch  # noqa: F401  (every candidate pays the same imports)

    x = np.load(data_dir / "x.npy")
    y = np.load(data_dir / "y.npy")
    load_before = os.getloadavg()[0]
    values: dict[str, float] = {}
    extra: dict[str, object] = {}
    t0 = time.perf_counter()
    if name == "load":
        pass
    elif name in ("ours", "ours-chunked", "ours-pml-set", "clustering"):
        from daml_cli.metrics.evaluate import evaluate_embeddings

        if name in ("ours", "ours-chunked"):
            kw = {"ks": KS, "metrics": ("recall", "map@r", "r_precision")}
        elif name == "ours-pml-set":
            kw = {"ks": (1,), "metrics": ("recall", "map@r", "r_precision")}
        else:
            kw = {"metrics": ("nmi", "f1"), "kmeans_niter": args.kmeans_niter, "kmeans_nredo": args.kmeans_nredo}
        if name == "ours-chunked":
            kw["symmetric"] = False
        res = evaluate_embeddings(x, y, device="cpu", seed=0, **kw)
        values = dict(res.metrics)
        extra = {"backend": res.backend, "seconds_split": res.seconds, "details": res.details,
                 "excluded": res.excluded_queries}
    elif name == "bare":
        g = torch.from_numpy(x)
        chunk = max(1, (256 * 2**20) // (4 * len(x)))
        with torch.no_grad():
            for s in range(0, len(x), chunk):
                torch.topk(g[s : s + chunk] @ g.T, min(1001, len(x)), dim=1)
    elif name == "sklearn":
        from sklearn.neighbors import NearestNeighbors

        k = min(KS[-1] + 1, len(x))
        _, idx = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x).kneighbors(x)
        # Drop the query's own row by index (no ties in random float data), then Recall@K.
        keep = idx != np.arange(len(x))[:, None]
        keep[keep.all(axis=1), -1] = False
        nbr = idx[keep].reshape(len(x), k - 1)
        rel = y[nbr] == y[:, None]
        values = {f"recall@{kk}": float(rel[:, :kk].any(axis=1).mean()) for kk in KS}
    elif name == "pml":
        from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

        calc = AccuracyCalculator(
            include=("precision_at_1", "mean_average_precision_at_r", "r_precision"),
            k="max_bin_count", device=torch.device("cpu"),
        )
        acc = calc.get_accuracy(torch.from_numpy(x), torch.from_numpy(y))
        values = {"recall@1": acc["precision_at_1"], "map@r": acc["mean_average_precision_at_r"],
                  "r_precision": acc["r_precision"]}
    elif name == "pml-clustering":
        from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

        calc = AccuracyCalculator(include=("NMI",), device=torch.device("cpu"))
        values = {"nmi": calc.get_accuracy(torch.from_numpy(x), torch.from_numpy(y))["NMI"]}
    else:
        raise SystemExit(f"unknown candidate {name}")
    seconds = time.perf_counter() - t0
    return {"name": name, "seconds": seconds, "values": values, "load": [load_before, os.getloadavg()[0]], **extra}


def spawn(name: str, data_dir: Path, args: argparse.Namespace) -> dict[str, object] | None:
    cmd = [sys.executable, __file__, "--child", name, "--data-dir", str(data_dir),
           "--kmeans-niter", str(args.kmeans_niter)]
    if args.kmeans_nredo is not None:
        cmd += ["--kmeans-nredo", str(args.kmeans_nredo)]
    print(f"  running {name} ...", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", flush=True)
        return None
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    out = json.loads(line)
    print(f"  {name}: {out['seconds']:.1f} s, peak RSS {out['maxrss_mb']:.0f} MB, "
          f"load avg {out['load'][0]:.1f} -> {out['load'][1]:.1f}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60502, help="number of embeddings (SOP test: 60,502)")
    ap.add_argument("--classes", type=int, default=11316, help="number of classes (SOP test: 11,316)")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=2.5, help="noise norm relative to the class-centre norm")
    ap.add_argument("--skip-pml", action="store_true", help="do not run pytorch-metric-learning")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--skip-clustering", action="store_true", help="do not time k-means / NMI / F1")
    ap.add_argument("--kmeans-niter", type=int, default=20)
    ap.add_argument("--kmeans-nredo", type=int, default=None, help="default: clustering.default_nredo")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the candidates, interleaved, this many times")
    ap.add_argument("--only", help="comma-separated candidates to run (default: all that are not skipped)")
    ap.add_argument("--json", type=Path, help="also write all results here")
    ap.add_argument("--child", choices=CANDIDATES, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        out = run_child(args.child, args.data_dir, args)
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        print(json.dumps(out))
        return

    names = ["load", "ours"]
    have_pml = False
    if not args.skip_pml:
        try:
            import pytorch_metric_learning  # noqa: F401

            have_pml = True
            names.append("pml")  # right after ours: the ratio that matters is taken close in time
        except ImportError:
            print("pytorch-metric-learning is not installed: skipping the PML comparison "
                  "(pip install pytorch-metric-learning to include it)")
    names += ["ours-chunked", "ours-pml-set", "bare"]
    if not args.skip_sklearn:
        names.append("sklearn")
    if not args.skip_clustering:
        names += ["clustering"] + (["pml-clustering"] if have_pml else [])
    if args.only:
        only = args.only.split(",")
        unknown = sorted(set(only) - set(CANDIDATES))
        if unknown:
            raise SystemExit(f"unknown candidates {unknown}; choose from {', '.join(CANDIDATES)}")
        names = [n for n in names if n in only]

    print(f"machine: {machine()}")
    print(f"data: n={args.n}, classes={args.classes}, dim={args.dim}, seed={args.seed}, noise={args.noise}")
    rounds: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="eval_bench_") as tmp:
        x, y = make_data(args.n, args.classes, args.dim, args.seed, args.noise)
        sizes = np.bincount(y)
        print(f"class sizes: min {sizes.min()}, max {sizes.max()}, mean {sizes.mean():.2f}")
        np.save(Path(tmp) / "x.npy", x)
        np.save(Path(tmp) / "y.npy", y)
        del x, y
        for number in range(args.rounds):
            print(f"round {number + 1} of {args.rounds}", flush=True)
            rounds.append({n: r for n in names if (r := spawn(n, Path(tmp), args)) is not None})

    ok = True
    for number, results in enumerate(rounds, 1):
        print(f"\nround {number}:\n" + table(results, [n for n in names if "clustering" not in n]))
        ok &= check_values(results)
    print("\n" + summary(rounds))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()},
                                         "rounds": rounds}, indent=2))
    if not ok:
        raise SystemExit(f"values differ by more than {TOLERANCE}")


if __name__ == "__main__":
    main()

"""The report of `eval_bench.py`: per-round tables, the value agreement check, and the ratio summary."""

from __future__ import annotations

import json

import numpy as np

TOLERANCE = 1e-6


def table(results: dict[str, dict], names: list[str]) -> str:
    bare = results.get("bare")
    pml = results.get("pml")
    rows = ["| candidate | seconds | peak RSS (MB) | × bare time | × PML time | × PML RSS | load avg |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for n in names:
        r = results.get(n)
        if r is None:
            continue
        bt = f"{r['seconds'] / bare['seconds']:.2f}" if bare and n != "load" else ""
        pt = f"{r['seconds'] / pml['seconds']:.2f}" if pml and n not in ("load",) else ""
        pr = f"{r['maxrss_mb'] / pml['maxrss_mb']:.2f}" if pml and n not in ("load",) else ""
        load = f"{r['load'][0]:.1f} → {r['load'][1]:.1f}"
        rows.append(f"| {n} | {r['seconds']:.1f} | {r['maxrss_mb']:.0f} | {bt} | {pt} | {pr} | {load} |")
    return "\n".join(rows)


def check_values(results: dict[str, dict]) -> bool:
    """Values shared between ours and PML, and between the default and chunked paths, agree to TOLERANCE."""
    ok = True
    pairs = [("ours", "pml"), ("ours-pml-set", "pml"), ("ours-chunked", "pml"), ("ours", "ours-chunked")]
    for mine, ref in pairs:
        if mine not in results or ref not in results:
            continue
        for key, b in results[ref]["values"].items():
            if key not in results[mine]["values"]:
                continue
            a = results[mine]["values"][key]
            good = abs(a - b) <= TOLERANCE
            ok &= good
            print(f"  {key:12s} {mine:13s} {a:.7f}  {ref:13s} {b:.7f}  diff {abs(a - b):.1e}  "
                  f"{'ok' if good else 'MISMATCH'}")
    for name in ("clustering", "pml-clustering"):
        if name in results:
            c = results[name]
            d = c.get("details", {})
            print(f"  {name}: {c['seconds']:.1f} s, peak RSS {c['maxrss_mb']:.0f} MB, values {json.dumps(c['values'])}"
                  + (f", k-means {d.get('kmeans_backend')} init {d.get('kmeans_init')} niter {d.get('kmeans_niter')}"
                     f" nredo {d.get('kmeans_nredo')}" if d else ""))
    return ok


def summary(rounds: list[dict[str, dict]]) -> str:
    """Per-round ratios ours / PML (time, peak RSS) and clustering / PML clustering, with their spread."""
    lines = ["| round | ours s | PML s | ours / PML time | ours MB | PML MB | ours / PML RSS | clustering s | "
             "PML clustering s | clustering / PML |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratios: dict[str, list[float]] = {"time": [], "rss": [], "clustering": []}
    for number, r in enumerate(rounds, 1):
        o, p, c, pc = (r.get(n) for n in ("ours", "pml", "clustering", "pml-clustering"))
        cells = [str(number)]
        if o and p:
            ratios["time"].append(o["seconds"] / p["seconds"])
            ratios["rss"].append(o["maxrss_mb"] / p["maxrss_mb"])
            cells += [f"{o['seconds']:.1f}", f"{p['seconds']:.1f}", f"{ratios['time'][-1]:.2f}",
                      f"{o['maxrss_mb']:.0f}", f"{p['maxrss_mb']:.0f}", f"{ratios['rss'][-1]:.2f}"]
        else:
            cells += [""] * 6
        if c and pc:
            ratios["clustering"].append(c["seconds"] / pc["seconds"])
            cells += [f"{c['seconds']:.1f}", f"{pc['seconds']:.1f}", f"{ratios['clustering'][-1]:.2f}"]
        else:
            cells += [""] * 3
        lines.append("| " + " | ".join(cells) + " |")
    for key, values in ratios.items():
        if values:
            lines.append(f"\n{key} ratio: min {min(values):.2f}, median {float(np.median(values)):.2f}, "
                         f"max {max(values):.2f} over {len(values)} round(s)")
    return "\n".join(lines)

"""`daml serve` latency and throughput, as ratios to one cold `daml retrieve` measured in the same run.

Figures (each request sends one image's bytes to ``POST /search?k=K`` over HTTP on 127.0.0.1):

- ``cold``: wall time of one ``python -m daml_cli retrieve QUERY --index G --top-k K --json -`` subprocess
  (imports, model and index load, one query): what every query costs without a server;
- ``p50``/``p99``: warm latency of one query at a time (after ``--warmup`` queries), ``--queries`` of them;
- ``qps``: queries per second with ``--clients`` concurrent clients for ``--seconds`` seconds (each client
  also stops after ``--max-per-client`` queries, so the loop is bounded in count and time).

Ratios: ``p50 / cold`` and ``p99 / cold`` (goal: p50 ≤ 0.03), ``qps × cold`` (how many times more queries
per second than back-to-back cold retrieves).

Without ``--index`` it builds its own: the digits dataset, the ``digits-triplet`` preset trained for
``--iterations`` steps on the CPU, and a flat index of the test split (about a minute on 2 cores).

    python bench/serve_bench.py                              # digits, built in a temporary folder
    python bench/serve_bench.py --index cub.faiss --query bird.jpg --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def build_digits_index(folder: Path, iterations: int) -> tuple[Path, Path]:
    """Train the digits preset briefly and index its test split; returns (index, one gallery image)."""
    from daml_cli.config.loading import load_config
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset
    from daml_cli.inference.embedding_job import embed_to_file
    from daml_cli.train.loop import train

    prepare_dataset("digits", folder / "data", PrepareOptions())
    overrides = [f"train.iterations={iterations}", f"train.eval_every={iterations}", "data.augment=false"]
    config = load_config("digits-triplet", overrides, {"data.root": str(folder / "data"), "device": "cpu"})
    train(config, folder / "run", preset="digits-triplet")
    index = folder / "gallery.faiss"
    embed_to_file(folder / "run", folder / "test.npz", folder / "data", "test", None, index, "cpu")
    meta = json.loads((folder / "gallery.faiss.json").read_text())
    return index, Path(meta["root"]) / meta["paths"][0]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def cold_retrieve(index: Path, query: Path, k: int, device: str) -> float:
    command = [sys.executable, "-m", "daml_cli", "retrieve", str(query), "--index", str(index), "--top-k", str(k), "--json", "-", "--device", device]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment(), cwd=REPO)
    return time.perf_counter() - started


def start_server(index: Path, device: str, options: list[str]) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "daml_cli", "serve", "--index", str(index), "--port", "0", "--device", device, *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment(), cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline()  # the server prints its URL once it listens (or exits on error)
    if "http://" not in line:
        raise SystemExit(f"daml serve did not start: {line!r}")
    url = line[line.index("http://"):].split()[0]
    for _ in range(600):
        try:
            if httpx.get(url + "health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("daml serve never answered /health")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def http_client() -> httpx.Client:
    """A keep-alive client with TCP_NODELAY, as browsers use: without it the request body waits for the
    server's delayed ACK of the headers (about 40 ms on Linux), which would be measured as server latency."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(timeout=60, transport=transport)


def sequential(url: str, image: bytes, k: int, count: int, limit_s: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + limit_s
    with http_client() as client:
        while len(latencies) < count and time.perf_counter() < deadline:
            started = time.perf_counter()
            response = client.post(f"{url}search?k={k}", content=image)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
    return latencies


def concurrent(url: str, image: bytes, k: int, clients: int, seconds: float, max_per_client: int) -> tuple[int, float]:
    done = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        with http_client() as session:
            barrier.wait()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end and done[number] < max_per_client:
                session.post(f"{url}search?k={k}", content=image).raise_for_status()
                done[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return sum(done), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="gallery index (default: build a digits one)")
    parser.add_argument("--query", type=Path, help="query image (default: the digits gallery's first image)")
    parser.add_argument("--iterations", type=int, default=30, help="training steps of the digits model")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-per-client", type=int, default=2000)
    parser.add_argument("--serve-option", action="append", default=[], help="extra `daml serve` option (repeat)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="serve-bench-") as scratch:
        index, query = args.index, args.query
        if index is None:
            index, default_query = build_digits_index(Path(scratch), args.iterations)
            query = query or default_query
        if query is None:
            raise SystemExit("--query is needed with --index")
        image = query.read_bytes()
        load_before = os.getloadavg()[0]
        cold = cold_retrieve(index, query, args.k, args.device)
        process, url = start_server(index, args.device, args.serve_option)
        try:
            sequential(url, image, args.k, args.warmup, 60)
            latencies = sequential(url, image, args.k, args.queries, 120)
            answered, elapsed = concurrent(url, image, args.k, args.clients, args.seconds, args.max_per_client)
            health = httpx.get(url + "health", timeout=10).json()
        finally:
            process.terminate()
            process.wait(timeout=30)
    p50, p99, qps = percentile(latencies, 0.5), percentile(latencies, 0.99), answered / elapsed
    figures = {
        "cold_retrieve_s": cold, "p50_s": p50, "p99_s": p99, "qps": qps, "p50_over_cold": p50 / cold,
        "p99_over_cold": p99 / cold, "qps_times_cold": qps * cold, "sequential_queries": len(latencies),
        "concurrent_queries": answered, "clients": args.clients, "largest_batch": health["largest_batch"],
        "mean_batch": health["queries"] / max(1, health["batches"]), "gallery": health["gallery"],
        "load_avg": [load_before, os.getloadavg()[0]], "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    print(f"cold daml retrieve      {cold:8.3f} s")
    print(f"warm p50 / p99          {p50 * 1000:8.1f} / {p99 * 1000:.1f} ms   ({p50 / cold:.4f}× / {p99 / cold:.4f}× cold)")
    print(f"{args.clients} clients              {qps:8.1f} queries/s ({qps * cold:.0f}× the cold rate; mean batch "
          f"{figures['mean_batch']:.2f}, largest {health['largest_batch']})")
    print(f"goal p50 ≤ 0.03× cold: {'met' if p50 / cold <= 0.03 else 'NOT met'}; load avg {load_before:.1f} → {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()

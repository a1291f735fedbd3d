"""A real `daml serve` process on a free 127.0.0.1 port, over a gallery index built from the tiny digits run."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import cli  # noqa: F401  (the in-process `daml` runner, shared)
from tests.conftest import REPO

START_TIMEOUT_S = 180.0  # model load on a busy 2-core machine
UPLOAD_LIMIT_MB = 0.5


@dataclass(frozen=True)
class Gallery:
    index: Path
    paths: list[str]  # absolute, as the server reports them
    labels: list[int]


@pytest.fixture(scope="session")
def served_gallery(tiny_run: Path, digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Gallery:
    from daml_cli.inference.embedding_job import embed_to_file

    folder = tmp_path_factory.mktemp("serve")
    index = folder / "gallery.faiss"
    embed_to_file(tiny_run, folder / "test.npz", digits_root, "test", None, index, "cpu")
    meta = json.loads((folder / "gallery.faiss.json").read_text())
    return Gallery(index, [str(Path(meta["root"]) / p) for p in meta["paths"]], meta["labels"])


def start_server(index: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """`daml serve --port 0` in a subprocess; returns it and its base URL once /health answers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "daml_cli", "serve", "--index", str(index), "--port", "0", "--device", "cpu", *options]
    log = tempfile.TemporaryFile(mode="w+")  # stderr to a file: a pipe nobody reads could fill up and stall the server
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    process.daml_log = log  # type: ignore[attr-defined]  # the server's stderr, for tests that read its log
    deadline = time.monotonic() + START_TIMEOUT_S
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = ""
    while not line and time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=1.0):
            line = process.stdout.readline()
    selector.close()
    if "http://" not in line:
        process.kill()
        process.wait(timeout=20)
        log.seek(0)
        raise AssertionError(f"daml serve did not start: {line!r} {log.read()[-2000:]}")
    url = line[line.index("http://"):].split()[0]
    assert url.startswith("http://127.0.0.1:"), url
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("daml serve never answered /health")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def server(served_gallery: Gallery) -> Iterator[str]:
    """Base URL of a server with a small upload limit, a 100 ms batching window and k up to 50."""
    process, url = start_server(served_gallery.index, "--max-upload-mb", str(UPLOAD_LIMIT_MB), "--batch-wait-ms", "100", "--max-k", "50")
    try:
        yield url
    finally:
        stop_server(process)

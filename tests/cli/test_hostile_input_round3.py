"""Issue 20, hostile input round 3 (part 1): outputs over files a command depends on, locks left by dead or
foreign processes, and degenerate evaluation data. Each test checks what the user meets: the exit code, one
`error:` line (or one `note:` line), no traceback, and the user's files unchanged (hashes before and after)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import one_line_error
from tests.cli.test_hostile_input import gallery, hashes, run_copy  # noqa: F401 (fixtures)
from tests.conftest import REPO, TINY

SETS = [arg for item in TINY for arg in ("--set", item)]


# 1. No output over a file a command depends on ----------------------------------------------------------------
@pytest.mark.parametrize(("command", "target"), [
    ("export", "config.yaml"), ("export", "metrics.jsonl"), ("embed", "metrics.csv"), ("embed-index", "curves.png"),
    ("evaluate", ".daml-train.lock"), ("visualize", "tensorboard/x.png"), ("retrieve", "config.yaml"),
    ("index-build", "checkpoints/new.faiss"), ("compare", "."),
])
def test_no_command_writes_over_a_run_file(cli, run_copy: Path, gallery: Path, digits_root: Path, command: str,
                                           target: str) -> None:
    (run_copy / "tensorboard").mkdir(exist_ok=True)
    out = run_copy / target
    emb, query = gallery.with_suffix(".npz"), next((digits_root / "digits" / "images").rglob("*.png"))
    argv = {
        "export": ["export", run_copy / "checkpoints" / "last.pt", "--format", "torchscript", "--out", out],
        "embed": ["embed", run_copy, "--data-root", digits_root, "--out", out],
        "embed-index": ["embed", run_copy, "--data-root", digits_root, "--out", run_copy / "e.npz", "--index", out],
        "evaluate": ["evaluate", "--embeddings", emb, "--json", out],
        "visualize": ["visualize", emb, "--out", out],
        "retrieve": ["retrieve", query, "--index", gallery, "--html", out],
        "index-build": ["index", "build", emb, "--out", out],
        "compare": ["compare", "digits-triplet", "--seeds", "0", "--data-root", digits_root, "--out", out, *SETS],
    }[command]
    (run_copy / ".daml-train.lock").write_text("")  # a lock file as a live run leaves it
    before = hashes(run_copy)
    message = one_line_error(*cli(*argv)[0::2])
    assert "run folder" in message and str(run_copy) in message
    assert hashes(run_copy) == before and not (run_copy / "e.npz").exists()


@pytest.mark.parametrize("case", ["index-of-evaluate", "query-labels", "dataset-manifest", "verify-folder", "index-lock"])
def test_no_command_writes_over_its_own_input(cli, tiny_run: Path, gallery: Path, digits_root: Path, tmp_path: Path,
                                              case: str) -> None:
    from daml_cli.index.metadata import sidecar_path

    index = tmp_path / "g.faiss"
    shutil.copy(gallery, index)
    shutil.copy(sidecar_path(gallery), sidecar_path(index))
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    query = next((data / "digits" / "images").rglob("*.png"))
    labels = tmp_path / "labels.csv"
    labels.write_text(f"{query},5\n")
    argv, named = {
        "index-of-evaluate": (["evaluate", "--embeddings", gallery.with_suffix(".npz"), "--index", index, "--json", index],
                              "--index"),
        "query-labels": (["retrieve", query, "--index", index, "--query-labels", labels, "--json", labels], "--query-labels"),
        "dataset-manifest": (["embed", tiny_run, "--data-root", data, "--out", data / "digits" / "manifest.csv"], "dataset"),
        "verify-folder": (["export", tiny_run, "--format", "torchscript", "--verify-images", data / "digits",
                           "--out", query], "--verify-images"),
        "index-lock": (["index", "build", gallery.with_suffix(".npz"), "--out", tmp_path / "g.faiss.lock"], "lock file"),
    }[case]
    before = hashes(tmp_path)
    message = one_line_error(*cli(*argv)[0::2])
    assert named in message
    assert hashes(tmp_path) == before


# 2. Locks left by dead processes, or held on another host -------------------------------------------------------
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _lock_record(pid: int, host: str) -> str:
    return json.dumps({"pid": pid, "host": host, "command": "daml train", "started": "2026-01-01T00:00:00+0000"})


def test_a_sigkilled_training_is_resumed_with_a_notice(cli, digits_root: Path, tmp_path: Path) -> None:
    """A real `daml train`, killed with SIGKILL once it has a checkpoint; the resume takes its lock over."""
    run = tmp_path / "run"
    command = [sys.executable, "-m", "daml_cli", "train", "--preset", "digits-triplet", "--data-root", str(digits_root),
               "--out", str(run), "--device", "cpu", *SETS, "--set", "train.iterations=100000", "--set", "train.eval_every=2"]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (run / "checkpoints" / "last.pt").is_file() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (run / ".daml-train.lock").is_file() and (run / "checkpoints" / "last.pt").is_file()
    import torch

    step = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"]
    code, _, err = cli("train", "--out", run, "--resume", "--data-root", digits_root, "--device", "cpu",
                       "--set", f"train.iterations={step + 1}")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and f"pid {child.pid}" in notes[0] and "no longer runs" in notes[0]
    assert "Traceback" not in err and not (run / ".daml-train.lock").exists()


@pytest.fixture
def index_copy(gallery: Path, tmp_path: Path) -> tuple[Path, Path]:
    from daml_cli.index.metadata import sidecar_path
    from tests.cli.test_hostile_input import _renamed_embeddings

    index = tmp_path / "g.faiss"
    shutil.copy(gallery, index)
    shutil.copy(sidecar_path(gallery), sidecar_path(index))
    other = tmp_path / "other.npz"
    _renamed_embeddings(gallery.with_suffix(".npz"), other, "other/")
    return index, other


ORPHAN = """
import os, sys, time
from daml_cli.safety.locks import exclusive_lock
with exclusive_lock(sys.argv[1], "index"):
    if os.fork() == 0:  # a child that inherits the locked descriptor, as a DataLoader worker does
        time.sleep(120)
        os._exit(0)
    print("locked", flush=True)
    time.sleep(120)
"""


def test_an_index_lock_kept_by_an_orphan_of_a_killed_process_is_taken_over(cli, index_copy) -> None:
    from daml_cli.index.store import index_lock_path

    index, other = index_copy
    lock = index_lock_path(index)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", ORPHAN, str(lock)], stdout=subprocess.PIPE, text=True, env=env,
                              start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        code, out, err = cli("index", "add", index, other)
        assert code == 0, err
        notes = [line for line in err.splitlines() if line.strip()]
        assert len(notes) == 1 and notes[0].startswith("note: took over the lock") and f"pid {holder.pid}" in notes[0]
        assert "added" in out and not lock.exists()
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # the orphan, in the holder's session


def test_a_lock_file_of_a_dead_pid_is_taken_over(cli, index_copy) -> None:
    from daml_cli.index.store import index_lock_path

    index, other = index_copy
    index_lock_path(index).write_text(_lock_record(_dead_pid(), socket.gethostname()))
    code, _, err = cli("index", "add", index, other)
    assert code == 0, err
    assert [line for line in err.splitlines() if line.strip()][0].startswith("note: took over the lock of index")


@pytest.mark.parametrize("where", ["run", "index", "compare"])
def test_a_lock_of_another_host_is_reported_with_the_file_to_remove(cli, run_copy: Path, index_copy, digits_root: Path,
                                                                    tmp_path: Path, where: str) -> None:
    from daml_cli.index.store import index_lock_path

    index, other = index_copy
    lock, argv = {
        "run": (run_copy / ".daml-train.lock", ["train", "--out", run_copy, "--resume", "--data-root", digits_root,
                                                "--set", "train.iterations=8", "--device", "cpu"]),
        "index": (index_lock_path(index), ["index", "add", index, other]),
        "compare": (tmp_path / "cmp" / ".daml-compare.lock", ["compare", "digits-triplet", "--seeds", "0", "--data-root",
                                                              digits_root, "--out", tmp_path / "cmp", "--device", "cpu", *SETS]),
    }[where]
    lock.parent.mkdir(exist_ok=True)
    lock.write_text(_lock_record(os.getpid(), "another-host.example"))
    before = hashes(tmp_path)
    message = one_line_error(*cli(*argv)[0::2])
    assert "another-host.example" in message and "another host" in message and f"remove {lock}" in message
    assert hashes(tmp_path) == before


# 3. Degenerate evaluation data ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("labels", "metrics", "named"), [
    ([3] * 12, "recall,nmi,f1,map@r,r_precision", ["Recall@K", "MAP@R", "R-precision", "NMI", "F1", "one class"]),
    (list(range(12)), "nmi", ["NMI", "alone in its class"]),
    (list(range(12)), "recall", ["Recall@K", "no query has another item of its class"]),
])
def test_degenerate_labels_are_refused_naming_the_metric(cli, tmp_path: Path, labels, metrics, named) -> None:
    from daml_cli.embeddings.file import write_embeddings

    emb = tmp_path / "e.npz"
    vectors = np.random.default_rng(0).standard_normal((len(labels), 4)).astype(np.float32)
    write_embeddings(emb, vectors, labels, [f"{i}.png" for i in range(len(labels))])
    before = hashes(emb)
    message = one_line_error(*cli("evaluate", "--embeddings", emb, "--metrics", metrics, "--json", tmp_path / "m.json")[0::2])
    assert "meaningless" in message and all(word in message for word in named), message
    assert hashes(emb) == before and not (tmp_path / "m.json").exists()


def test_a_gallery_of_one_class_is_refused(cli, tmp_path: Path) -> None:
    from daml_cli.embeddings.file import write_embeddings

    emb = tmp_path / "e.npz"
    labels = [0, 1, 0, 1, 0, 0, 0, 0]  # queries: the first four; gallery: the last four, all class 0
    vectors = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    write_embeddings(emb, vectors, labels, [f"{i}.png" for i in range(8)],
                     extra={"is_query": [True] * 4 + [False] * 4, "is_gallery": [False] * 4 + [True] * 4})
    message = one_line_error(*cli("evaluate", "--embeddings", emb, "--metrics", "recall,nmi")[0::2])
    assert "gallery holds one class" in message and "Recall@K" in message and "ask only for nmi" in message

"""Issue 11: hostile and careless input. One test per class of failure, at the CLI where the user meets it:
the exit code, the single `error:` line, no traceback, and every file the user had left exactly as it was."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import one_line_error
from tests.conftest import REPO, TINY

SETS = [arg for item in TINY for arg in ("--set", item)]


def hashes(*roots: Path) -> dict[str, str]:
    """SHA-256 of every file under `roots` (files themselves for file roots), keyed by path."""
    found: dict[str, str] = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        for path in files:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _classes(root: Path, digits_root: Path, names=("a", "b", "c"), per_class: int = 3) -> Path:
    images = sorted((digits_root / "digits" / "images").rglob("*.png"))
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            shutil.copyfile(images[i * 200 + j], root / name / f"{j}.png")
    return root


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


@pytest.fixture(scope="module")
def gallery(tiny_run: Path, digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from daml_cli.inference.embedding_job import embed_to_file

    folder = tmp_path_factory.mktemp("hostile-gallery")
    embed_to_file(tiny_run, folder / "g.npz", digits_root, index=folder / "g.faiss", device="cpu")
    return folder / "g.faiss"


# 1. Leak through symlinks ---------------------------------------------------------------------------------
def _hostile_source(tmp_path: Path, digits_root: Path) -> tuple[Path, Path]:
    source = _classes(tmp_path / "src", digits_root)
    for path in source.rglob("*.png"):
        path.chmod(0o600)
    secret = tmp_path / "secret.png"  # a root-only file outside the source (stands for /etc/shadow)
    secret.write_bytes(b"root:$6$secret-hash")
    secret.chmod(0o600)
    (source / "a" / "secret.png").symlink_to(secret)
    (source / "b" / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(source / "c" / "fifo.png")
    outside = tmp_path / "elsewhere"
    _classes(outside, digits_root, names=("x",))
    (source / "linked").symlink_to(outside / "x")  # a folder link that leaves the source
    return source, secret


def _assert_no_leak(data: Path, widest: int = 0o600) -> None:
    copied = list((data / "folder").rglob("*.png"))
    assert copied and not [p for p in copied if p.name in ("secret.png", "zero.png", "fifo.png")]
    assert not any(p.parts[-2] == "linked" for p in copied)
    assert all(p.stat().st_mode & 0o777 & ~widest == 0 for p in copied), "copies are wider than their sources"
    manifest = (data / "folder" / "manifest.csv").read_text()
    assert "secret" not in manifest and "linked" not in manifest


def test_symlinks_and_special_files_are_skipped_not_copied(cli, digits_root: Path, tmp_path: Path) -> None:
    source, secret = _hostile_source(tmp_path, digits_root)
    before = hashes(source / "a", source / "b", secret)
    code, out, err = cli("prepare", "folder", tmp_path / "data", "--source", source)
    assert code == 0, err
    assert "Traceback" not in err and "skipped 4" in " ".join(out.split())
    _assert_no_leak(tmp_path / "data")
    assert hashes(source / "a", source / "b", secret) == before


def test_symlink_leak_as_an_unprivileged_user(cli, digits_root: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("switching to an unprivileged user needs root")
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user on this machine")
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="daml-hostile-"))  # pytest's own tmp folders are closed to other users
    base.chmod(0o755)
    request_cleanup = base
    source, secret = _hostile_source(base, digits_root)
    for path in [source, *source.rglob("*")]:
        if not path.is_symlink() and not path.name == "fifo.png":
            path.chmod(0o755 if path.is_dir() else 0o644)
    out_root = base / "out"
    out_root.mkdir(mode=0o777)
    out_root.chmod(0o777)
    cli("prepare", "folder", base / "warm", "--source", source)  # import everything before dropping privileges
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, run the command, report only the exit code
        code = 1
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            from daml_cli.cli.main import main

            try:
                main(["prepare", "folder", str(out_root), "--source", str(source)])
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
        except BaseException as error:  # noqa: BLE001 - the child must always reach os._exit
            (out_root / "child-error.txt").write_text(repr(error))
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 0, list(out_root.iterdir())
        _assert_no_leak(out_root, widest=0o644)
    finally:
        shutil.rmtree(request_cleanup, ignore_errors=True)


# 2. Outputs that destroy inputs -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["export", "embed", "embed-index", "evaluate-json"])
def test_outputs_never_overwrite_a_checkpoint(cli, run_copy: Path, digits_root: Path, command: str) -> None:
    target = run_copy / "checkpoints" / "best.pt"
    before = hashes(run_copy)
    argv = {
        "export": ["export", run_copy, "--format", "torchscript", "--out", target],
        "embed": ["embed", run_copy, "--data-root", digits_root, "--out", target],
        "embed-index": ["embed", target, "--data-root", digits_root, "--out", run_copy / "e.npz", "--index", run_copy / "checkpoints" / "last.pt"],
        "evaluate-json": ["evaluate", run_copy, "--data-root", digits_root, "--json", target],
    }[command]
    message = one_line_error(*cli(*argv)[0::2])
    assert "overwritten" in message or "checkpoints folder" in message
    assert hashes(run_copy) == before


def test_index_build_refuses_its_own_input(cli, gallery: Path, tmp_path: Path) -> None:
    emb = tmp_path / "g.npz"
    shutil.copy(gallery.with_suffix(".npz"), emb)
    before = hashes(emb)
    message = one_line_error(*cli("index", "build", emb, "--out", emb)[0::2])
    assert "input" in message and hashes(emb) == before


# 3. Concurrency ------------------------------------------------------------------------------------------------
def test_a_locked_run_folder_is_refused_naming_the_holder(cli, digits_root: Path, tmp_path: Path) -> None:
    from daml_cli.safety.locks import exclusive_lock
    from daml_cli.train.run_guard import LOCK_NAME

    run = tmp_path / "run"
    with exclusive_lock(run / LOCK_NAME, f"run folder {run}"):
        before = hashes(run)
        code, _, err = cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", run, *SETS)
        message = one_line_error(code, err)
        assert "in use by pid" in message and str(os.getpid()) in message
        assert hashes(run) == before and not (run / "metrics.jsonl").exists()


def test_a_locked_index_is_refused(cli, gallery: Path, tmp_path: Path) -> None:
    from daml_cli.index.metadata import sidecar_path
    from daml_cli.index.store import index_lock_path
    from daml_cli.safety.locks import exclusive_lock

    index = tmp_path / "g.faiss"
    shutil.copy(gallery, index)
    shutil.copy(sidecar_path(gallery), sidecar_path(index))
    other = tmp_path / "other.npz"
    _renamed_embeddings(gallery.with_suffix(".npz"), other, "other/")
    before = hashes(index, sidecar_path(index))
    with exclusive_lock(index_lock_path(index), f"index {index}"):
        message = one_line_error(*cli("index", "add", index, other)[0::2])
    assert "in use by pid" in message and hashes(index, sidecar_path(index)) == before
    code, _, err = cli("index", "add", index, other)  # free again: the add goes through
    assert code == 0, err


def _renamed_embeddings(source: Path, target: Path, prefix: str) -> None:
    from daml_cli.embeddings.file import read_embeddings, write_embeddings

    emb = read_embeddings(source)
    write_embeddings(target, emb.embeddings, emb.labels, [prefix + p for p in emb.paths], checkpoint=emb.checkpoint,
                     checkpoint_sha256=emb.checkpoint_sha256, root=emb.root, preprocessing=emb.preprocessing)


# 4. Failed starts leave no stuck run folder ---------------------------------------------------------------------
@pytest.mark.parametrize(("override", "key"), [
    ("optim.lr_trunk=.nan", "optim.lr_trunk"), ("optim.lr_embedder=-1", "optim.lr_embedder"),
    ("train.iterations=-1", "train.iterations"), ("data.image_size=0", "data.image_size"),
    ("data.image_size=20000", "data.image_size"),
])
def test_bad_values_are_refused_before_a_run_folder_exists(cli, digits_root: Path, tmp_path: Path, override: str, key: str) -> None:
    run = tmp_path / "run"
    message = one_line_error(*cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", run, *SETS, "--set", override)[0::2])
    assert key in message
    assert not run.exists()


def test_a_start_that_fails_mid_way_leaves_no_run_folder(cli, digits_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    manifest = data / "digits" / "manifest.csv"
    good = manifest.read_text()
    lines = good.splitlines()
    train_line = next(i for i, line in enumerate(lines) if line.endswith(",train"))
    lines[train_line] = "../../etc/passwd," + lines[train_line].split(",", 1)[1]
    manifest.write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert "leaves the dataset folder" in one_line_error(*cli("train", "--preset", "digits-triplet", "--data-root", data, "--out", run, *SETS)[0::2])
    assert not run.exists()
    # every training image replaced by text: the failure comes from the first batch, after the folder was made
    manifest.write_text(good)
    for row in good.splitlines()[1:]:
        if row.endswith(",train"):
            (data / "digits" / row.split(",")[0]).write_text("not an image")
    message = one_line_error(*cli("train", "--preset", "digits-triplet", "--data-root", data, "--out", run, *SETS)[0::2])
    assert "cannot read image" in message
    assert not run.exists()


def test_a_leftover_config_without_checkpoint_does_not_block(cli, digits_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("# a start killed before its first checkpoint\n")
    code, _, err = cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", run, *SETS, "--device", "cpu")
    assert code == 0, err
    assert (run / "checkpoints" / "last.pt").is_file()


# 5. Silent changes and silent duplicates ------------------------------------------------------------------------
def test_resume_refuses_a_changed_setting(cli, run_copy: Path, digits_root: Path) -> None:
    before = hashes(run_copy)
    code, _, err = cli("train", "--out", run_copy, "--resume", "--data-root", digits_root, "--set", "loss.name=contrastive")
    message = one_line_error(code, err)
    assert "'loss.name'" in message and "--resume" in message
    assert hashes(run_copy) == before


def test_resume_allows_the_budget(cli, run_copy: Path, digits_root: Path) -> None:
    # The budget is the one setting --resume may change: the run goes on from its step to the new budget,
    # keeping what it wrote, and records the new budget and nothing else as changed.
    from daml_cli.config.loading import load_config
    from daml_cli.models.checkpoint import load_checkpoint

    config_before = load_config(str(run_copy / "config.yaml"))
    log_before = (run_copy / "metrics.jsonl").read_text()
    assert load_checkpoint(run_copy / "checkpoints" / "last.pt").step == 6
    code, _, err = cli("train", "--out", run_copy, "--resume", "--data-root", digits_root, "--set", "train.iterations=8", "--device", "cpu")
    assert code == 0, err
    assert "Traceback" not in err and "error:" not in err
    assert load_checkpoint(run_copy / "checkpoints" / "last.pt").step == 8
    log_after = (run_copy / "metrics.jsonl").read_text()
    assert log_after.startswith(log_before)  # steps 1-6 as they were: resumed, not started again
    added = [json.loads(line) for line in log_after[len(log_before):].splitlines()]
    assert [r["step"] for r in added if r["phase"] == "train"] == [8]
    config_after = load_config(str(run_copy / "config.yaml"))
    assert config_after.train.iterations == 8
    new_budget = dataclasses.replace(config_before.train, iterations=8)
    assert config_after == dataclasses.replace(config_before, train=new_budget)  # and no other setting changed


def test_adding_the_same_embeddings_twice_is_refused(cli, gallery: Path, tmp_path: Path) -> None:
    from daml_cli.index.metadata import sidecar_path

    index = tmp_path / "g.faiss"
    shutil.copy(gallery, index)
    shutil.copy(sidecar_path(gallery), sidecar_path(index))
    before = hashes(index, sidecar_path(index))
    message = one_line_error(*cli("index", "add", index, gallery.with_suffix(".npz"))[0::2])
    assert "already in index" in message
    assert hashes(index, sidecar_path(index)) == before


def test_duplicate_manifest_rows_are_refused(cli, run_copy: Path, digits_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    manifest = data / "digits" / "manifest.csv"
    lines = manifest.read_text().splitlines()
    test_line = next(line for line in lines if line.endswith(",test"))
    manifest.write_text("\n".join([*lines, test_line]) + "\n")
    before = hashes(data)
    message = one_line_error(*cli("evaluate", run_copy, "--data-root", data)[0::2])
    assert "repeats the image" in message
    assert hashes(data) == before


# 6. Unchecked numbers from files ---------------------------------------------------------------------------------
def test_preprocessing_from_a_checkpoint_is_validated(cli, run_copy: Path, digits_root: Path) -> None:
    import torch

    checkpoint = run_copy / "checkpoints" / "best.pt"
    payload = torch.load(checkpoint, weights_only=True)
    payload["preprocessing"]["std"] = [0.0, 0.0, 0.0]
    torch.save(payload, checkpoint)
    before = hashes(run_copy)
    message = one_line_error(*cli("embed", run_copy, "--data-root", digits_root, "--out", run_copy / "e.npz")[0::2])
    assert "preprocessing.std" in message and str(checkpoint) in message
    assert hashes(run_copy) == before and not (run_copy / "e.npz").exists()


@pytest.mark.parametrize("resize", ["big", 20000])
def test_preprocessing_from_an_index_sidecar_is_validated(cli, gallery: Path, digits_root: Path, tmp_path: Path, resize) -> None:
    from daml_cli.index.metadata import sidecar_path

    index = tmp_path / "g.faiss"
    shutil.copy(gallery, index)
    meta = json.loads(sidecar_path(gallery).read_text())
    meta["preprocessing"]["resize"] = resize
    sidecar_path(index).write_text(json.dumps(meta))
    before = hashes(index, sidecar_path(index))
    query = next((digits_root / "digits" / "images").rglob("*.png"))
    message = one_line_error(*cli("retrieve", query, "--index", index)[0::2])
    assert "preprocessing.resize" in message
    assert hashes(index, sidecar_path(index)) == before


def test_preprocessing_from_an_embeddings_file_is_validated(cli, tmp_path: Path) -> None:
    from daml_cli.embeddings.file import write_embeddings

    emb = tmp_path / "e.npz"
    write_embeddings(emb, np.eye(4, dtype=np.float32), [0, 0, 1, 1], list("abcd"),
                     preprocessing={"resize": 20000, "crop": 16, "mean": [0.5] * 3, "std": [0.5] * 3})
    before = hashes(emb)
    message = one_line_error(*cli("index", "build", emb, "--out", tmp_path / "g.faiss")[0::2])
    assert "preprocessing.resize" in message
    assert hashes(emb) == before and not (tmp_path / "g.faiss").exists()


# 7. Ordinary OS errors -------------------------------------------------------------------------------------------
def test_os_errors_are_one_line(cli, run_copy: Path, digits_root: Path, tmp_path: Path, monkeypatch) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    before = hashes(a_file, run_copy)
    assert "is a file" in one_line_error(*cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", a_file, *SETS)[0::2])
    assert "is a file" in one_line_error(*cli("prepare", "digits", a_file)[0::2])
    assert "--json" in one_line_error(*cli("evaluate", run_copy, "--data-root", digits_root, "--json", tmp_path)[0::2])
    assert "is a file" in one_line_error(*cli("embed", run_copy, "--data-root", digits_root, "--out", a_file / "e.npz")[0::2])
    fifo = tmp_path / "fifo.json"  # stands for /dev/null: renaming a result over it would replace the device
    os.mkfifo(fifo)
    assert "FIFO" in one_line_error(*cli("evaluate", run_copy, "--data-root", digits_root, "--json", fifo)[0::2])
    assert "FIFO" in one_line_error(*cli("embed", run_copy, "--data-root", digits_root, "--out", fifo)[0::2])
    assert fifo.is_fifo()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "e.npz"))

    monkeypatch.setattr(np, "savez", disk_full)
    message = one_line_error(*cli("embed", run_copy, "--data-root", digits_root, "--out", tmp_path / "e.npz")[0::2])
    assert "No space left on device" in message and "e.npz" in message
    assert not list(tmp_path.glob("*.npz")) and not list(tmp_path.glob(".e.*"))
    assert hashes(a_file, run_copy) == before


def test_read_only_folder_as_an_unprivileged_user(cli, run_copy: Path, digits_root: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write into read-only folders; the check is covered for ordinary users")
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    assert "permission denied" in one_line_error(*cli("embed", run_copy, "--data-root", digits_root, "--out", locked / "e.npz")[0::2])


def test_a_file_name_that_is_not_utf8(cli, digits_root: Path, tmp_path: Path) -> None:
    source = _classes(tmp_path / "src", digits_root)
    bad = os.path.join(os.fsencode(source / "a"), b"bad\xff.png")
    shutil.copyfile(source / "a" / "0.png", bad)
    message = one_line_error(*cli("prepare", "folder", tmp_path / "data", "--source", source)[0::2])
    assert "not valid UTF-8" in message and "\\xff" in message
    assert not (tmp_path / "data" / "folder").exists()


def test_usage_errors_are_one_line_with_a_help_hint(cli, tiny_run: Path, tmp_path: Path) -> None:
    message = one_line_error(*cli("train", "--no-such-option")[0::2])
    assert "--no-such-option" in message and "daml train --help" in message
    assert "daml embed --help" in one_line_error(*cli("embed")[0::2])
    assert "--seed" in one_line_error(*cli("evaluate", "--embeddings", tmp_path / "e.npz", "--seed", "-1")[0::2])
    assert "--resize" in one_line_error(*cli("prepare", "digits", tmp_path, "--resize", "0")[0::2])
    assert "'seed'" in one_line_error(*cli("train", "--preset", "digits-triplet", "--seed", "-1", "--out", tmp_path / "r")[0::2])
    assert "--opset 99" in one_line_error(*cli("export", tiny_run, "--format", "onnx", "--out", tmp_path / "m.onnx", "--opset", "99")[0::2])
    assert not list(tmp_path.iterdir())


def test_only_rank_zero_prints_under_torchrun(cli, monkeypatch) -> None:
    monkeypatch.setenv("RANK", "1")
    code, out, err = cli("train", "--preset", "no-such-preset")
    assert code == 2 and err == "" and out == ""
    monkeypatch.setenv("RANK", "0")
    assert "unknown preset" in one_line_error(*cli("train", "--preset", "no-such-preset")[0::2])


def test_torchrun_prints_the_error_once(digits_root: Path, tmp_path: Path) -> None:
    """Only rank 0 prints; the launcher's own failure summary (torchrun's, not daml's) follows it."""
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "daml_cli",
               "train", "--preset", "digits-triplet", "--data-root", str(digits_root), "--out", str(run), "--device", "cpu",
               *SETS, "--set", "train.iterations=-1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: 'train.iterations' must be an integer of at least 1, got -1"]
    assert not run.exists()


# 8. Unbounded or hanging reads ------------------------------------------------------------------------------------
def test_a_fifo_given_as_an_image_is_refused_at_once(gallery: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "query.png"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "daml_cli", "retrieve", str(fifo), "--index", str(gallery), "--device", "cpu"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    message = one_line_error(done.returncode, done.stderr)
    assert "FIFO" in message and str(fifo) in message


def test_the_omniglot_extractor_has_limits(cli, tmp_path: Path, monkeypatch) -> None:
    from daml_cli.data.extract import ExtractLimits
    from daml_cli.data.preparers import omniglot

    monkeypatch.setattr(omniglot, "EXTRACT_LIMITS", ExtractLimits(max_bytes=1024 * 1024, max_members=100))
    source = tmp_path / "zips"
    source.mkdir()
    for name in (omniglot.TRAIN_ZIP, omniglot.TEST_ZIP):
        with zipfile.ZipFile(source / name, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("images/Alphabet/character01/bomb.png", b"\0" * (4 * 1024 * 1024))
    before = hashes(source)
    message = one_line_error(*cli("prepare", "omniglot", tmp_path / "data", "--source", source, "--skip-checksum")[0::2])
    assert "expands to more than" in message
    assert hashes(source) == before and not (tmp_path / "data" / "omniglot").exists()
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]


# 9. Terminal injection ------------------------------------------------------------------------------------------
def test_markup_and_escape_sequences_in_names_are_printed_literally(cli, gallery: Path, digits_root: Path, tmp_path: Path) -> None:
    image = next((digits_root / "digits" / "images").rglob("*.png"))
    names = ["q[bold]x.png", "q[bold]x[/]y.png", "q\x1b[31mred.png"]  # '[/]' in a path: a folder 'q[bold]x['
    queries = []
    for name in names:
        queries.append(tmp_path / name)
        queries[-1].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image, queries[-1])
    code, out, err = cli("retrieve", *queries, "--index", gallery, "--k", "2", "--device", "cpu")
    assert code == 0, err
    flat = "".join(out.split())
    assert "q[bold]x.png" in flat and "q[bold]x[/]y.png" in flat
    assert "\x1b" not in out and "\x1b" not in err and "\\x1b[31mred.png" in flat
    message = one_line_error(*cli("retrieve", tmp_path / "gone\x1b[2J[bold].png", "--index", gallery)[0::2])
    assert "\x1b" not in message and "\\x1b[2J[bold]" in message


# 10. "Verified" without verifying ------------------------------------------------------------------------------
def test_a_damaged_dataset_is_not_called_verified(cli, digits_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    images = sorted((data / "digits" / "images").rglob("*.png"))
    corrupt = images[1]
    corrupt.write_bytes(bytes(len(corrupt.read_bytes())))  # same size, other content
    code, out, err = cli("prepare", "digits", data)
    assert code == 0 and "already prepared" in out
    before = hashes(data)
    message = one_line_error(*cli("prepare", "digits", data, "--verify")[0::2])
    assert "changed since it was prepared" in message and "--force" in message
    images[0].unlink()
    message = one_line_error(*cli("prepare", "digits", data)[0::2])
    assert "missing" in message and images[0].name in message
    assert {k: v for k, v in hashes(data).items()} == {k: v for k, v in before.items() if k != str(images[0])}

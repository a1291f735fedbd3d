"""`daml compare` recognises a stored run started from the same --init weights however the path was written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from daml_cli.compare.runs import same_init


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_file_named_relatively_is_the_same_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = tmp_path / "base" / "seed0" / "checkpoints" / "best.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"weights of seed 0")
    monkeypatch.chdir(tmp_path)
    relative = "base/seed0/checkpoints/best.pt"
    assert same_init(str(checkpoint), _sha(checkpoint), relative, "")
    assert same_init(str(checkpoint), _sha(checkpoint), "base/seed0", "")  # a run folder means its best.pt


def test_changed_weights_are_another_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"old weights")
    recorded_sha = _sha(checkpoint)
    checkpoint.write_bytes(b"retrained weights")
    monkeypatch.chdir(tmp_path)
    assert not same_init(str(checkpoint), recorded_sha, "best.pt", "")


def test_without_the_file_the_recorded_path_must_end_with_the_requested_one(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a fresh machine: only report.json, no checkpoints
    recorded = "/elsewhere/study/b-triplet/runs/baseline/seed3/checkpoints/best.pt"
    assert same_init(recorded, "ab" * 32, "b-triplet/runs/baseline/seed3/checkpoints/best.pt", "")
    assert not same_init(recorded, "ab" * 32, "b-triplet/runs/baseline/seed4/checkpoints/best.pt", "")
    assert not same_init(recorded, "ab" * 32, "other/runs/baseline/seed3/checkpoints/best.pt", "")


def test_pinned_hashes_decide_and_no_init_matches_only_no_init() -> None:
    assert same_init("/a/best.pt", "11" * 32, "/b/best.pt", "11" * 32)
    assert not same_init("/a/best.pt", "11" * 32, "/a/best.pt", "22" * 32)
    assert same_init("", "", "", "")
    assert not same_init("/a/best.pt", "11" * 32, "", "")
    assert not same_init("", "", "/a/best.pt", "")

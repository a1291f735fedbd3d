"""Issue 20: every argument of the Python API is checked at the boundary; a wrong type is a DamlError naming the
argument and the type it takes, never a bare TypeError or a string split into characters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daml_cli import api
from daml_cli.errors import ConfigError, DamlError


@pytest.mark.parametrize(("call", "words"), [
    (lambda: api.train(preset=123), ["preset", "str", "int 123"]),
    (lambda: api.train(preset="digits-triplet", weights=5), ["weights", "a path", "int 5"]),
    (lambda: api.train(preset="digits-triplet", resume="yes"), ["resume", "True or False"]),
    (lambda: api.train(preset="digits-triplet", overrides=5), ["overrides", "int 5"]),
    (lambda: api.train(preset="digits-triplet", overrides=[5]), ["each item of overrides", "a str"]),
    (lambda: api.embed(run=None, out="e.npz"), ["run", "a path", "None"]),
    (lambda: api.embed(run="runs/x", out=3), ["out", "a path"]),
    (lambda: api.evaluate(embeddings="e.npz", k="1,2"), ["k", "a list of ints", "'1,2'"]),
    (lambda: api.evaluate(embeddings="e.npz", k=[1, "2"]), ["each item of k", "an int"]),
    (lambda: api.evaluate(embeddings=7), ["embeddings", "a path"]),
    (lambda: api.retrieve(5, index="g.faiss"), ["queries", "int 5"]),
    (lambda: api.retrieve("q.png", index="g.faiss", k="3"), ["k", "an int"]),
    (lambda: api.prepare("digits", None), ["root", "a path"]),
    (lambda: api.prepare("digits", "data", archives=1), ["archives", "int 1"]),
])
def test_wrong_argument_types_are_daml_errors_naming_the_argument(call, words) -> None:
    with pytest.raises(DamlError) as caught:
        call()
    assert all(word in caught.value.one_line() for word in words), caught.value.one_line()


def test_a_string_of_overrides_is_one_override(digits_root: Path, tmp_path: Path) -> None:
    """Not split into characters ("override 't' is not of the form key=value"): the one override is applied."""
    with pytest.raises(ConfigError, match="'train.iterations' must be an integer of at least 1, got -1"):
        api.train(preset="digits-triplet", data_root=digits_root, out=tmp_path / "run", overrides="train.iterations=-1")
    assert not (tmp_path / "run").exists()


def test_a_single_k_and_a_string_of_metrics_are_accepted(tmp_path: Path) -> None:
    from daml_cli.embeddings.file import write_embeddings

    emb = tmp_path / "e.npz"
    vectors = np.array([[0, 0], [0, 1], [5, 5], [5, 6]], dtype=np.float32)  # two tight classes, far apart
    write_embeddings(emb, vectors, [0, 0, 1, 1], list("abcd"))
    metrics = api.evaluate(embeddings=emb, k=1, metrics="recall", device="cpu")
    assert metrics == {"recall@1": 1.0}  # every item's nearest other item is its class mate

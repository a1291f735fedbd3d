"""The wheel a user gets from `pip install daml-cli`: built from this checkout, installed on its own, and run
from a folder outside any checkout through the demo's steps (prepare, train, evaluate, retrieve).

The editable install of the checkout would hide what the wheel lacks (e.g. the presets), so the wheel is
installed with `pip install --no-deps --target` into a fresh folder that comes first on PYTHONPATH; its
dependencies (torch, FAISS, ...) are the test environment's own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "daml_cli", "presets")

pytestmark = pytest.mark.wheel


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _has_build_backend() -> bool:
    """Whether this environment can build the wheel itself, offline: setuptools >= 70.1 (which has bdist_wheel),
    or >= 68 with `wheel`. Otherwise pip fetches the backend that pyproject.toml asks for (e.g. a fresh 3.11 venv,
    whose bundled setuptools 65 is too old)."""
    try:
        from importlib.metadata import version

        major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    except Exception:
        return False
    return (major, minor) >= (70, 1) or (major >= 68 and importlib.util.find_spec("wheel") is not None)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the wheel's installed files (and its `bin/daml` script)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"  # a clean copy: no stale build/ folder or bytecode can leak into the wheel
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    no_isolation = ["--no-build-isolation"] if _has_build_backend() else []
    _pip("wheel", "--no-deps", *no_isolation, "-w", str(base / "dist"), str(source), cwd=base)
    (wheel,) = (base / "dist").glob("daml_cli-*.whl")
    _pip("install", "--no-deps", "--no-compile", "--target", str(base / "site"), str(wheel), cwd=base)
    return base / "site"


def _daml(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "daml_cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_wheel_ships_every_preset(installed: Path) -> None:
    shipped = sorted(p.name for p in (installed / "daml_cli" / "presets").glob("*.yaml"))
    assert shipped == sorted(p.name for p in (REPO / "presets").glob("*.yaml"))


def test_the_installed_wheel_runs_the_demo_steps(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"  # outside any checkout: no presets/ folder next to the code
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import daml_cli; print(daml_cli.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr

    steps = [
        ("prepare", "digits", "data"),
        ("presets",),
        ("train", "--preset", "digits-triplet", "--data-root", "data", "--out", "runs/w", "--device", "cpu",
         "--set", "train.iterations=5", "--set", "train.eval_every=5", "--set", "model.width=8", "--set", "data.image_size=16",
         "--set", "data.resize=16"),
        ("evaluate", "runs/w", "--data-root", "data", "--device", "cpu", "--recall-at", "1,2", "--json", "metrics.json"),
        ("embed", "runs/w", "--data-root", "data", "--out", "test.npz", "--index", "g.faiss", "--device", "cpu"),
        ("retrieve", "data/digits/images/5/0005.png", "--index", "g.faiss", "-k", "3", "--json", "-", "--device", "cpu"),
    ]
    outputs = []
    for step in steps:
        done = _daml(installed, work, *step)
        assert done.returncode == 0 and "Traceback" not in done.stderr, f"daml {' '.join(step)}:\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    assert "digits-triplet" in outputs[1]
    assert set(json.loads((work / "metrics.json").read_text())) >= {"recall@1", "nmi", "f1", "map@r"}
    assert len(json.loads(outputs[-1])[0]["results"]) == 3

    script = installed / "bin" / "daml"  # the console script the wheel installs
    done = subprocess.run([str(script), "--version"], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("daml "), done.stderr

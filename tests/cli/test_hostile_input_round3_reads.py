"""Issue 20, hostile input round 3 (part 2): what commands read. Messages quoting input are cut, decompression
bombs get the pixel-limit message wherever images are read, weights holding NaN are refused when loaded, and
every path a command reads has one wording (a FIFO "is a FIFO, not a regular file")."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import one_line_error
from tests.cli.test_hostile_input import gallery, hashes  # noqa: F401 (gallery is a fixture)
from tests.conftest import TINY

SETS = [arg for item in TINY for arg in ("--set", item)]
SHORT = 400  # characters: a message that quotes a value must stay this short whatever the input's size


# 5. A message that quotes input is cut -------------------------------------------------------------------------
def _tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return path


def test_a_cub_table_of_nul_bytes_gives_a_short_line(cli, tmp_path: Path, monkeypatch) -> None:
    from daml_cli.data import sources

    tables = {f"CUB_200_2011/{name}": b"1 1\n" for name in ("image_class_labels.txt", "classes.txt",
                                                           "train_test_split.txt", "bounding_boxes.txt")}
    archive = _tgz(tmp_path / "CUB_200_2011.tgz", {"CUB_200_2011/images.txt": b"\0" * (4 << 20), **tables})
    entry = sources.SOURCES["cub"]  # publish this archive's own checksum, as for the fixtures of tests/data
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    files = tuple(dataclasses.replace(f, sha256=digest, md5=None, size=archive.stat().st_size) for f in entry.files)
    monkeypatch.setitem(sources.SOURCES, "cub", dataclasses.replace(entry, files=files))
    before = hashes(archive)
    message = one_line_error(*cli("prepare", "cub", tmp_path / "data", "--archive", archive)[0::2])
    assert "images.txt:1" in message and "more characters" in message and len(message) < SHORT
    assert hashes(archive) == before


@pytest.mark.parametrize("where", ["manifest-label", "preset-value", "index-sidecar"])
def test_other_quoted_values_are_cut(cli, tiny_run: Path, gallery: Path, digits_root: Path, tmp_path: Path, where: str) -> None:
    from daml_cli.index.metadata import sidecar_path

    huge = "x" * 100_000  # under the csv module's 128 KiB field limit (over it: see the next test)
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    if where == "manifest-label":
        manifest = data / "digits" / "manifest.csv"
        lines = manifest.read_text().splitlines()
        row = lines[1].split(",")
        lines[1] = ",".join([row[0], huge, *row[2:]])
        manifest.write_text("\n".join(lines) + "\n")
        argv = ["evaluate", tiny_run, "--data-root", data]
    elif where == "preset-value":
        preset = tmp_path / "p.yaml"
        preset.write_text(f"train:\n  iterations: '{huge}'\n")
        argv = ["train", "--preset", preset, "--out", tmp_path / "run"]
    else:
        index = tmp_path / "g.faiss"
        shutil.copy(gallery, index)
        meta = json.loads(sidecar_path(gallery).read_text())
        meta["format_version"] = huge
        sidecar_path(index).write_text(json.dumps(meta))
        argv = ["retrieve", next((data / "digits" / "images").rglob("*.png")), "--index", index]
    before = hashes(tmp_path)
    message = one_line_error(*cli(*argv)[0::2])
    assert "xxxxxxxxxx" in message and "more characters" in message and len(message) < SHORT
    assert hashes(tmp_path) == before


def test_a_manifest_field_over_the_csv_limit_is_one_line(cli, tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(digits_root / "digits", data / "digits")
    manifest = data / "digits" / "manifest.csv"
    manifest.write_text(manifest.read_text() + "x" * 1_000_000 + ",1,a,test\n")
    before = hashes(data)
    message = one_line_error(*cli("evaluate", tiny_run, "--data-root", data)[0::2])
    assert "not a readable CSV file" in message and len(message) < SHORT
    assert hashes(data) == before


# 6. Decompression bombs get the pixel-limit message wherever images are read -------------------------------------
def png_1bit(path: Path, side: int) -> Path:
    """A black side×side 1-bit PNG, written row by row (a few hundred KB for gigapixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    packer, row, parts = zlib.compressobj(9), b"\0" * (1 + (side + 7) // 8), []
    parts.extend(packer.compress(row) for _ in range(side))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))
    return path


def jpeg_claiming(path: Path, side: int) -> Path:
    """A small JPEG whose frame header claims side×side pixels (PIL reads the size without decoding)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {"30000.png": png_1bit(folder / "b30000.png", 30000), "10000.png": png_1bit(folder / "b10000.png", 10000),
            "30000.jpg": jpeg_claiming(folder / "b30000.jpg", 30000)}


@pytest.mark.parametrize("bomb", ["30000.png", "10000.png", "30000.jpg"])
@pytest.mark.parametrize("command", ["retrieve", "export"])
def test_image_bombs_get_the_pixel_limit_message(cli, tiny_run: Path, gallery: Path, bombs, tmp_path: Path,
                                                 command: str, bomb: str) -> None:
    image = bombs[bomb]
    argv = {"retrieve": ["retrieve", image, "--index", gallery, "--device", "cpu"],
            "export": ["export", tiny_run, "--format", "torchscript", "--out", tmp_path / "m.pt", "--verify-images", image]}
    before = hashes(image)
    message = one_line_error(*cli(*argv[command])[0::2])
    assert str(image) in message and "-pixel limit" in message
    assert hashes(image) == before and not (tmp_path / "m.pt").exists()


def test_prepare_check_images_gives_the_pixel_limit_message(cli, bombs, digits_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    for name in ("a", "b"):
        (source / name).mkdir(parents=True)
        for i, image in enumerate(sorted((digits_root / "digits" / "images").rglob("*.png"))[:3]):
            shutil.copyfile(image, source / name / f"{i}.png")
    shutil.copyfile(bombs["30000.png"], source / "a" / "bomb.png")
    message = one_line_error(*cli("prepare", "folder", tmp_path / "data", "--source", source, "--check-images")[0::2])
    assert "bomb.png" in message and "-pixel limit" in message


# 7. Weights holding NaN or infinity are refused when loaded, naming the tensor ------------------------------------
def _poisoned(tiny_run: Path, target: Path, value: float) -> tuple[Path, str]:
    import torch

    payload = torch.load(tiny_run / "checkpoints" / "best.pt", weights_only=True)
    name = next(k for k, v in payload["model"].items() if k.startswith("trunk.") and v.is_floating_point())
    tensor = payload["model"][name].contiguous()  # channels-last weights cannot be viewed flat
    tensor.view(-1)[0] = value
    payload["model"][name] = tensor
    torch.save(payload, target)
    return target, name


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_init_from_weights_that_are_not_finite_is_refused(cli, tiny_run: Path, digits_root: Path, tmp_path: Path,
                                                          value: float) -> None:
    bad, name = _poisoned(tiny_run, tmp_path / "bad.pt", value)
    before = hashes(bad)
    message = one_line_error(*cli("train", "--preset", "digits-triplet", "--data-root", digits_root, "--init", bad,
                                  "--out", tmp_path / "run", "--device", "cpu", *SETS)[0::2])
    assert f"'{name}'" in message and str(bad) in message and "not finite" in message
    assert hashes(bad) == before and not (tmp_path / "run").exists()


def test_embedding_with_weights_that_are_not_finite_is_refused(cli, tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    bad, name = _poisoned(tiny_run, tmp_path / "bad.pt", float("nan"))
    message = one_line_error(*cli("embed", bad, "--data-root", digits_root, "--out", tmp_path / "e.npz")[0::2])
    assert f"'{name}'" in message and not (tmp_path / "e.npz").exists()


# 8. One wording for every path a command reads: a FIFO "is a FIFO, not a regular file" ------------------------
@contextlib.contextmanager
def fifo_at(path: Path) -> Iterator[Path]:
    """A FIFO at `path`; should a command open it anyway, a writer closes it at once, so the test fails, not hangs."""
    os.mkfifo(path)

    def release() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY))

    writer = threading.Thread(target=release, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # frees the writer if nobody opened the FIFO
        writer.join(timeout=5)


@pytest.mark.parametrize("case", ["init", "verify-images", "checkpoint", "embeddings", "preset", "weights",
                                  "query-labels", "index", "index-add"])
def test_a_fifo_is_named_as_a_fifo_wherever_a_command_reads_a_path(cli, tiny_run: Path, gallery: Path, digits_root: Path,
                                                                   tmp_path: Path, case: str) -> None:
    suffix = {"preset": ".yaml", "embeddings": ".npz", "index-add": ".npz", "query-labels": ".csv"}.get(case, ".pt")
    query = next((digits_root / "digits" / "images").rglob("*.png"))
    with fifo_at(tmp_path / f"fifo{suffix}") as fifo:
        train = ["train", "--preset", "digits-triplet", "--data-root", digits_root, "--out", tmp_path / "run", *SETS]
        argv = {
            "init": [*train, "--init", fifo],
            "verify-images": ["export", tiny_run, "--format", "torchscript", "--out", tmp_path / "m.pt", "--verify-images", fifo],
            "checkpoint": ["evaluate", fifo, "--data-root", digits_root],
            "embeddings": ["evaluate", "--embeddings", fifo],
            "preset": ["train", "--preset", fifo, "--out", tmp_path / "run"],
            "weights": [*train, "--weights", fifo],
            "query-labels": ["retrieve", query, "--index", gallery, "--query-labels", fifo],
            "index": ["index", "info", fifo],
            "index-add": ["index", "add", gallery, fifo],
        }[case]
        message = one_line_error(*cli(*argv)[0::2])
        assert f"{fifo} is a FIFO, not a regular file" in message
        assert fifo.is_fifo() and not (tmp_path / "run").exists()

"""IVF-PQ galleries larger than memory: train on a sample, add shard by shard, keep the lists on disk.

``build_ondisk_ivfpq`` reads the EMB.npz shards one at a time (only one shard's vectors are in memory):

1. sizes and consistency (dimension, checkpoint, root, labelled or not) are checked from every shard first;
2. the coarse quantiser and PQ codebooks are trained on a seeded uniform sample of all rows
   (``train_size`` rows at most, drawn shard by shard);
3. each shard is added to a copy of the trained, empty index (ids continue across shards in the given
   order) and written to a temporary shard index;
4. ``faiss.contrib.ondisk.merge_ondisk`` merges the shards' inverted lists into one
   ``OnDiskInvertedLists`` file, ``OUT`` with the suffix ``.ivfdata`` beside ``OUT``; the ``.faiss`` file
   then holds only the quantiser, codebooks and list offsets.

The sidecar records ``on_disk=1``, the data file's name and the shard files. ``store.load_index`` reads
it with ``IO_FLAG_ONDISK_SAME_DIR``: FAISS memory-maps the ``.ivfdata`` file found beside the index, so a
folder holding both can be moved. Search is the usual IVF-PQ search (``nprobe`` lists are read).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from daml_cli.atomic import atomic_path
from daml_cli.errors import DataError
from daml_cli.embeddings.file import EmbeddingsFile, read_embeddings
from daml_cli.index.faiss_lib import faiss_prints_to_stderr, import_faiss
from daml_cli.index.metadata import IndexMetadata, sidecar_path
from daml_cli.index.params import resolve_params
from daml_cli.index.store import index_params_of

DEFAULT_TRAIN_SIZE = 100_000


def ivfdata_path(index_path: Path | str) -> Path:
    """The on-disk inverted lists beside an index: ``gallery.faiss`` -> ``gallery.ivfdata``."""
    return Path(index_path).with_suffix(".ivfdata")


def sample_rows(counts: Sequence[int], size: int, seed: int) -> list[np.ndarray]:
    """A seeded uniform sample of ``min(size, Σ counts)`` global rows, split into sorted row numbers per shard."""
    total = int(sum(counts))
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(total, size=min(size, total), replace=False))
    edges = np.cumsum([0, *counts])
    return [picked[(picked >= lo) & (picked < hi)] - lo for lo, hi in zip(edges[:-1], edges[1:])]


def _check_shards(shards: Sequence[Path], root: str | None) -> tuple[list[int], EmbeddingsFile]:
    """Every shard's row count; refuses shards that cannot form one gallery. Returns the first shard too."""
    counts: list[int] = []
    first: EmbeddingsFile | None = None
    for path in shards:
        emb = read_embeddings(path)
        if first is None:
            first = emb
        elif emb.dimension != first.dimension:
            raise DataError(f"{path} holds {emb.dimension}-d embeddings, {shards[0]} {first.dimension}-d",
                            "index shards embedded by one model")
        elif emb.checkpoint_sha256 != first.checkpoint_sha256:
            raise DataError(f"{path} was embedded with another checkpoint than {shards[0]}",
                            "index shards embedded by one checkpoint")
        elif (emb.labels is None) != (first.labels is None):
            raise DataError(f"{path} and {shards[0]} differ in having labels", "give shards of one kind")
        elif root is None and emb.root != first.root:
            raise DataError(f"{path} has paths relative to {emb.root}, {shards[0]} to {first.root}",
                            "pass --root to say which folder the paths are relative to")
        counts.append(emb.count)
    assert first is not None
    return counts, first


def build_ondisk_ivfpq(
    shards: Sequence[Path | str],
    out: Path | str,
    params: dict[str, int] | None = None,
    root: str | None = None,
    train_size: int = DEFAULT_TRAIN_SIZE,
    seed: int = 0,
) -> IndexMetadata:
    """Build ``out`` (+ ``out.json`` and the ``.ivfdata`` lists) from EMB.npz ``shards``; see the module docstring.

    Nothing appears at the final paths unless every step succeeded.
    """
    faiss = import_faiss()
    from faiss.contrib.ondisk import merge_ondisk

    shards = [Path(p) for p in shards]
    if not shards:
        raise DataError("no embeddings file given")
    out = Path(out)
    counts, first = _check_shards(shards, root)
    total, dimension = int(sum(counts)), first.dimension
    resolved = resolve_params("ivfpq", total, dimension, params)
    if train_size < 1:
        raise DataError(f"train size must be at least 1, got {train_size}")
    picks = sample_rows(counts, max(train_size, 39 * max(resolved["nlist"], 2 ** resolved["nbits"])), seed)
    sample = np.concatenate(
        [read_embeddings(path).embeddings[rows] for path, rows in zip(shards, picks) if rows.size]
    ).astype(np.float32)
    quantizer = faiss.IndexFlatL2(dimension)
    trained = faiss.IndexIVFPQ(quantizer, dimension, resolved["nlist"], resolved["m"], resolved["nbits"])
    trained.own_fields = True
    quantizer.this.disown()
    trained.train(sample)
    del sample
    paths: list[str] = []
    labels: list[int] | None = None if first.labels is None else []
    data_file = ivfdata_path(out)
    with tempfile.TemporaryDirectory(prefix=f".{out.stem}.", dir=out.parent if out.parent.exists() else None) as tmp:
        trained_file = Path(tmp) / "trained.faiss"
        faiss.write_index(trained, str(trained_file))
        shard_files, start = [], 0
        for number, path in enumerate(shards):
            emb = read_embeddings(path)
            part = faiss.read_index(str(trained_file))
            part.add_with_ids(np.ascontiguousarray(emb.embeddings, dtype=np.float32),
                              np.arange(start, start + emb.count, dtype=np.int64))
            start += emb.count
            shard_files.append(str(Path(tmp) / f"shard{number}.faiss"))
            faiss.write_index(part, shard_files[-1])
            paths += list(emb.paths)
            if labels is not None and emb.labels is not None:
                labels += [int(v) for v in emb.labels]
            del part, emb
        index = faiss.read_index(str(trained_file))
        tmp_data = Path(tmp) / data_file.name
        with faiss_prints_to_stderr():
            merge_ondisk(index, shard_files, str(tmp_data))
        index.nprobe = resolved["nprobe"]
        metadata = IndexMetadata(
            index_type="ivfpq",
            index_params={**index_params_of(index), "on_disk": 1, "ivfdata": data_file.name,
                          "shards": ",".join(str(p) for p in shards), "train_size": int(sum(r.size for r in picks))},
            dimension=dimension, count=total, paths=paths, labels=labels,
            root=root if root is not None else first.root, checkpoint=first.checkpoint,
            checkpoint_sha256=first.checkpoint_sha256, preprocessing=first.preprocessing,
        )
        with atomic_path(out) as tmp_index, atomic_path(sidecar_path(out)) as tmp_sidecar:
            faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists).filename = str(data_file.resolve())
            faiss.write_index(index, str(tmp_index))
            tmp_sidecar.write_text(metadata.to_json(), encoding="utf-8")
            os.replace(tmp_data, data_file)  # last step before the renames: the lists appear with the index
    return metadata

"""The engine behind `daml embed`: a split's embeddings to EMB.npz, optionally indexed for retrieval."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from daml_cli.embeddings.file import EmbeddingsFile, write_embeddings
from daml_cli.index.build import build_index_file
from daml_cli.inference.loading import load_model
from daml_cli.inference.sharded_embedding import gather_rows, shard_bounds
from daml_cli.inference.split_embedding import embed_split, read_split_rows
from daml_cli.models.checkpoint import resolve_checkpoint
from daml_cli.safety.outputs import check_output_file
from daml_cli.train.distributed import from_environment


@dataclass
class EmbedSummary:
    out: Path
    count: int
    dimension: int
    index: Path | None
    checkpoint: Path
    shares: list[int] = field(default_factory=list)  # rows embedded by each process (one entry: no torchrun)
    is_main: bool = True  # False on torchrun ranks other than 0, which write nothing


def check_outputs(run: Path, out: Path, index: Path | None) -> None:
    """Refuse, before embedding anything, outputs that would overwrite the checkpoint or each other."""
    from daml_cli.index.metadata import sidecar_path
    from daml_cli.errors import ConfigError

    reads = [("the checkpoint", resolve_checkpoint(run))]
    check_output_file(out, "--out", reads=reads)
    if index is not None:
        check_output_file(index, "--index", reads=reads)
        check_output_file(sidecar_path(index), "--index's sidecar", reads=[*reads, ("--out", out)])
        if Path(index).resolve() == Path(out).resolve():
            raise ConfigError("--index and --out name the same file", "write them to two files")


def embed_to_file(
    run: Path,
    out: Path,
    data_root: Path | None = None,
    split: str = "test",
    dataset: str | None = None,
    index: Path | None = None,
    device: str = "auto",
    on_batch: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> EmbedSummary:
    """Embed `split` with the model in `run`, write `out` (and `index` with its metadata when given).

    Under `torchrun` every process embeds its shard (`sharded_embedding.shard_bounds`) and rank 0 gathers
    them in row order and writes the files once; the other ranks return a summary with ``is_main=False``.
    """
    check_outputs(run, out, index)
    loaded = load_model(run, device)
    group = from_environment(loaded.device.type)
    if group.enabled and loaded.device.type == "cuda":  # one GPU per process (NCCL)
        loaded.device = torch.device("cuda", group.local_rank)
        loaded.model.to(loaded.device)
    count = len(read_split_rows(loaded, data_root, split, dataset))
    bounds = shard_bounds(count, group.world_size)
    embedded = embed_split(loaded, data_root, split, dataset, on_batch=on_batch, on_total=on_total,
                           rows_range=bounds[group.rank])
    gathered = gather_rows(group, embedded.embeddings, loaded.model.embedding_dim, loaded.device)
    shares = [stop - start for start, stop in bounds]
    if gathered is None:
        return EmbedSummary(Path(out), count, loaded.model.embedding_dim, index, loaded.checkpoint, shares, False)
    embedded.embeddings = gathered
    extra: dict[str, object] = {}
    if embedded.query_mask is not None and embedded.gallery_mask is not None:
        extra = {"is_query": embedded.query_mask.tolist(), "is_gallery": embedded.gallery_mask.tolist()}
    extra["split"] = split
    if loaded.step is not None:
        extra["checkpoint_step"] = loaded.step
    if embedded.class_names:
        extra["class_names"] = {str(label): name for label, name in sorted(embedded.class_names.items())}
    stored = EmbeddingsFile(
        embeddings=embedded.embeddings,
        paths=embedded.paths,
        labels=embedded.labels,
        checkpoint=str(loaded.checkpoint),
        checkpoint_sha256=loaded.sha256,
        root=str(embedded.root),
        preprocessing=loaded.preprocessing,
        extra=extra,
    )
    write_embeddings(
        out, stored.embeddings, stored.labels, stored.paths, checkpoint=stored.checkpoint,
        checkpoint_sha256=stored.checkpoint_sha256, root=stored.root, preprocessing=stored.preprocessing, extra=extra,
    )
    if index is not None:
        build_index_file(stored, index)
    return EmbedSummary(Path(out), len(stored.paths), stored.dimension, index, loaded.checkpoint, shares)

"""Build a gallery index file (FAISS + metadata sidecar) from an embeddings file's contents."""

from __future__ import annotations

from pathlib import Path

from daml_cli.embeddings.file import EmbeddingsFile
from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.params import check_index_type
from daml_cli.index.store import build_index, index_params_of, save_index


def class_names_of(emb: EmbeddingsFile) -> dict[str, str] | None:
    """The label -> class name map `daml embed` stores in EMB.npz's extra metadata, for the labels present."""
    names = emb.extra.get("class_names")
    if not isinstance(names, dict) or emb.labels is None:
        return None
    present = {str(int(label)) for label in set(emb.labels.tolist())}
    kept = {str(k): str(v) for k, v in names.items() if str(k) in present}
    return kept or None


def build_index_file(
    emb: EmbeddingsFile, out: Path | str, index_type: str = "flat", params: dict[str, int] | None = None, root: str | None = None
) -> IndexMetadata:
    """Index `emb` with FAISS and write `out` plus `out.json` atomically; returns the metadata written."""
    check_index_type(index_type)
    index = build_index(emb.embeddings, index_type, params)
    metadata = IndexMetadata(
        index_type=index_type,
        index_params=index_params_of(index),
        dimension=emb.dimension,
        count=emb.count,
        paths=emb.paths,
        labels=None if emb.labels is None else [int(v) for v in emb.labels],
        root=root if root is not None else emb.root,
        checkpoint=emb.checkpoint,
        checkpoint_sha256=emb.checkpoint_sha256,
        preprocessing=emb.preprocessing,
        class_names=class_names_of(emb),
    )
    save_index(index, metadata, out)
    return metadata

"""Build, save, load and search a FAISS gallery index together with its metadata sidecar.

FAISS is imported lazily (first call, through `faiss_lib.import_faiss`), so importing this module is cheap and
a missing FAISS install gives a one-line DamlError instead of an ImportError at start-up. Distances are
squared L2 (smaller = closer).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from daml_cli.atomic import atomic_path
from daml_cli.embeddings.vectors import as_embedding_matrix
from daml_cli.errors import ConfigError, IndexFileError
from daml_cli.index.faiss_lib import faiss_prints_to_stderr, import_faiss
from daml_cli.safety.files import require_regular_file
from daml_cli.index.gpu import GPU_MAX_K, shard_over_gpus
from daml_cli.index.header import check_header, read_faiss_header
from daml_cli.index.metadata import IndexMetadata, sidecar_path
from daml_cli.index.params import check_index_type, resolve_params

_REBUILD_HINT = "rebuild it with `daml index build EMB.npz --out INDEX`"


def build_index(embeddings: np.ndarray, index_type: str = "flat", params: dict[str, int] | None = None) -> Any:
    """Build a CPU index of `index_type` over `embeddings` (N×D) with ids 0..N-1.

    Parameters not given are derived from N and D (see `daml_cli.index.params`); read the ones actually
    used back with `index_params_of`. IVF-PQ is trained on the embeddings themselves.
    """
    faiss = import_faiss()
    check_index_type(index_type)
    vectors = as_embedding_matrix(embeddings, "embeddings")
    count, dimension = vectors.shape
    resolved = resolve_params(index_type, count, dimension, params)
    if index_type == "flat":
        index = faiss.IndexFlatL2(dimension)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, resolved["M"])
        index.hnsw.efConstruction = resolved["efConstruction"]
    else:
        quantizer = faiss.IndexFlatL2(dimension)
        index = faiss.IndexIVFPQ(quantizer, dimension, resolved["nlist"], resolved["m"], resolved["nbits"])
        index.own_fields = True
        quantizer.this.disown()  # the index now frees its quantiser
        index.train(vectors)
    index.add(vectors)
    _apply_search_params(index, index_type, resolved)
    return index


def index_type_of(index: Any) -> str:
    """Which daml index kind a (CPU) FAISS index is; IndexFileError for kinds daml does not make."""
    faiss = import_faiss()
    if isinstance(index, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexFlatL2):
        return "flat"
    raise IndexFileError(f"unsupported FAISS index class {type(index).__name__}", _REBUILD_HINT)


def index_params_of(index: Any) -> dict[str, int]:
    """The build and search parameters a (CPU) index actually has, for the metadata."""
    kind = index_type_of(index)
    if kind == "ivfpq":
        return {"nlist": int(index.nlist), "m": int(index.pq.M), "nbits": int(index.pq.nbits),
                "nprobe": int(index.nprobe)}
    if kind == "hnsw":
        return {"M": int(index.hnsw.nb_neighbors(1)), "efConstruction": int(index.hnsw.efConstruction),
                "efSearch": int(index.hnsw.efSearch)}
    return {}


def _apply_search_params(index: Any, index_type: str, params: dict[str, Any]) -> None:
    if index_type == "ivfpq" and "nprobe" in params:
        index.nprobe = int(params["nprobe"])
    elif index_type == "hnsw" and "efSearch" in params:
        index.hnsw.efSearch = int(params["efSearch"])


def _is_gpu_index(index: Any) -> bool:
    name = type(index).__name__
    return name.startswith("Gpu") or name in ("IndexShards", "IndexReplicas")


def to_cpu(index: Any) -> Any:
    """A CPU copy of a GPU (or multi-GPU) index; CPU indexes are returned unchanged."""
    return import_faiss().index_gpu_to_cpu(index) if _is_gpu_index(index) else index


def save_index(index: Any, metadata: IndexMetadata, path: Path | str) -> Path:
    """Write `index` to `path` and `metadata` to its sidecar, both atomically.

    Both files are written to temporary names first; if either write fails neither final file is touched.
    Returns the sidecar path.
    """
    faiss = import_faiss()
    path = Path(path)
    cpu_index = to_cpu(index)
    kind = index_type_of(cpu_index)
    metadata.validate()
    if kind != metadata.index_type or cpu_index.d != metadata.dimension or cpu_index.ntotal != metadata.count:
        raise IndexFileError(
            f"metadata ({metadata.index_type}, {metadata.count}×{metadata.dimension}) does not describe the "
            f"index ({kind}, {cpu_index.ntotal}×{cpu_index.d}); not saving {path}"
        )
    sidecar = sidecar_path(path)
    try:
        with atomic_path(path) as tmp_index, atomic_path(sidecar) as tmp_sidecar:
            faiss.write_index(cpu_index, str(tmp_index))
            tmp_sidecar.write_text(metadata.to_json(), encoding="utf-8")
    except (RuntimeError, OSError) as error:
        raise IndexFileError(f"could not write index {path}: {_faiss_reason(error)}") from error
    return sidecar


def load_index(
    path: Path | str,
    expected_dimension: int | None = None,
    expected_checkpoint_sha256: str | None = None,
) -> tuple[Any, IndexMetadata]:
    """Load a CPU index and its metadata, refusing anything missing, corrupt or mismatched.

    Cheap checks (files exist, sidecar valid, header agrees with it, expected dimension and checkpoint
    hash) run before FAISS reads the file. Search parameters from the metadata are applied.
    """
    faiss = import_faiss()
    path = Path(path)
    require_regular_file(path, "index file", IndexFileError, "build one with `daml index build EMB.npz --out INDEX`")
    metadata = IndexMetadata.read(path)
    check_header(path, read_faiss_header(path), metadata)
    if expected_dimension is not None and metadata.dimension != expected_dimension:
        raise IndexFileError(
            f"index {path} holds {metadata.dimension}-d embeddings but the model makes {expected_dimension}-d ones",
            "rebuild the index with embeddings from this model (`daml embed`, then `daml index build`)",
        )
    if expected_checkpoint_sha256 is not None and metadata.checkpoint_sha256 != expected_checkpoint_sha256:
        built = metadata.checkpoint_sha256[:12] + "…" if metadata.checkpoint_sha256 else "an unrecorded checkpoint"
        raise IndexFileError(
            f"index {path} was built from checkpoint {built}, not the given one ({expected_checkpoint_sha256[:12]}…)",
            "rebuild the index with embeddings from this checkpoint (`daml embed`, then `daml index build`)",
        )
    if metadata.index_params.get("on_disk"):  # daml_cli.index.ondisk: the lists live beside the index
        data = path.with_name(str(metadata.index_params.get("ivfdata", path.with_suffix(".ivfdata").name)))
        if not data.is_file():
            raise IndexFileError(f"index {path} keeps its lists in {data}, which is missing",
                                 "keep the .ivfdata file beside the index, or rebuild it")
    try:
        if metadata.index_params.get("on_disk"):
            with faiss_prints_to_stderr():  # ONDISK_SAME_DIR: map the lists from the index's own folder
                index = faiss.read_index(str(path), faiss.IO_FLAG_ONDISK_SAME_DIR)
        else:
            index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as error:
        raise IndexFileError(
            f"FAISS cannot read {path}, it is truncated or corrupt ({_faiss_reason(error)})", _REBUILD_HINT
        ) from error
    kind = index_type_of(index)
    if kind != metadata.index_type or index.d != metadata.dimension or index.ntotal != metadata.count:
        raise IndexFileError(
            f"{path} ({kind}, {index.ntotal}×{index.d}) does not match its metadata "
            f"({metadata.index_type}, {metadata.count}×{metadata.dimension})",
            _REBUILD_HINT,
        )
    _apply_search_params(index, kind, metadata.index_params)
    return index, metadata


def _faiss_reason(error: BaseException) -> str:
    """The useful tail of a FAISS C++ exception ("... Error: 'x' failed: read error ..." -> "read error ...")."""
    text = " ".join(str(error).split()) or type(error).__name__
    _, _, reason = text.rpartition("failed: ")
    return (reason or text)[:120]


def search(index: Any, queries: np.ndarray, k: int, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The `k` nearest gallery vectors of each query: (squared L2 distances, ids), both Q×k'.

    k' = min(k, ntotal). A flat index is searched on all GPUs (sharded) when FAISS sees any and `use_gpu`
    is not False; other kinds, and k above FAISS's GPU limit, run on the CPU. Approximate indexes may
    return id -1 (with a huge distance) when fewer than k' neighbours were found.
    """
    faiss = import_faiss()
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if index.ntotal == 0:
        raise IndexFileError("the index is empty", "add vectors with `daml index add INDEX EMB.npz`")
    matrix = as_embedding_matrix(queries, "queries", dimension=index.d, allow_empty=True)
    k = int(min(k, index.ntotal))
    if matrix.shape[0] == 0:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    target = index
    if use_gpu is not False and isinstance(index, faiss.IndexFlatL2) and k <= GPU_MAX_K:
        target = _flat_to_gpus(faiss, index)
    distances, ids = target.search(matrix, k)
    return np.asarray(distances, np.float32), np.asarray(ids, np.int64)


def _flat_to_gpus(faiss: Any, index: Any) -> Any:
    """Shard a flat index over every visible GPU, or return it unchanged when there are none or it fails."""
    if faiss.get_num_gpus() < 1 or not hasattr(faiss, "index_cpu_to_all_gpus"):
        return index
    try:
        return shard_over_gpus(faiss, index)
    except (RuntimeError, MemoryError) as error:
        warnings.warn(f"GPU search unavailable ({_faiss_reason(error)}); searching on the CPU", stacklevel=3)
        return index


def index_lock_path(path: Path | str) -> Path:
    """The lock file beside an index (``gallery.faiss.lock``), held by every command that writes it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")

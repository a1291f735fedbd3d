"""Pre-flight checks on a FAISS file's header, done before `faiss.read_index` is trusted with it.

Every FAISS index file starts with a 4-byte type code followed by the common header
``d:int32, ntotal:int64, dummy:int64, dummy:int64, is_trained:uint8, metric_type:int32`` (little endian).
Reading those 37 bytes lets us refuse a file that is not a FAISS index, is the wrong kind, or disagrees with
its metadata, before FAISS allocates memory for sizes read from a possibly corrupt file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from daml_cli.errors import IndexFileError
from daml_cli.index.metadata import IndexMetadata

_HEADER = struct.Struct("<4siqqqBi")
HEADER_SIZE = _HEADER.size  # 37
METRIC_L2 = 1
# Type codes FAISS writes for the index kinds daml builds (IvPQ is the legacy IVF-PQ code).
FOURCC_BY_TYPE: dict[str, tuple[bytes, ...]] = {
    "flat": (b"IxF2",),
    "ivfpq": (b"IwPQ", b"IvPQ"),
    "hnsw": (b"IHNf",),
}
_REBUILD_HINT = "rebuild it with `daml index build EMB.npz --out INDEX`"


@dataclass(frozen=True)
class FaissHeader:
    """The common header of a FAISS index file."""

    fourcc: bytes
    dimension: int
    ntotal: int
    is_trained: bool
    metric_type: int
    file_size: int


def read_faiss_header(path: Path) -> FaissHeader:
    """Parse the header of `path`, raising IndexFileError when it is too short or not a FAISS index."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            raw = handle.read(HEADER_SIZE)
    except OSError as error:
        raise IndexFileError(f"cannot read index file {path}: {error.strerror}") from error
    if len(raw) < HEADER_SIZE:
        raise IndexFileError(f"index file {path} is truncated ({size} bytes)", _REBUILD_HINT)
    fourcc, dimension, ntotal, _, _, is_trained, metric = _HEADER.unpack(raw)
    if not (fourcc[:1] == b"I" and fourcc.isalnum()):
        raise IndexFileError(f"{path} is not a FAISS index file (it starts with {fourcc!r})", _REBUILD_HINT)
    return FaissHeader(fourcc, dimension, ntotal, bool(is_trained), metric, size)


def check_header(path: Path, header: FaissHeader, metadata: IndexMetadata) -> None:
    """Refuse a file whose kind, dimension, size or vector count disagrees with its metadata."""
    expected = FOURCC_BY_TYPE[metadata.index_type]
    if header.fourcc not in expected:
        actual = next((kind for kind, codes in FOURCC_BY_TYPE.items() if header.fourcc in codes), None)
        described = f"a {actual} index" if actual else f"an unsupported FAISS index ({header.fourcc.decode()})"
        raise IndexFileError(f"{path} is {described} but its metadata says {metadata.index_type}", _REBUILD_HINT)
    if header.metric_type != METRIC_L2:
        raise IndexFileError(f"{path} uses FAISS metric {header.metric_type}, daml indexes use L2", _REBUILD_HINT)
    if header.dimension != metadata.dimension:
        raise IndexFileError(
            f"{path} holds {header.dimension}-d vectors but its metadata says {metadata.dimension}-d",
            _REBUILD_HINT,
        )
    if header.ntotal != metadata.count:
        raise IndexFileError(
            f"{path} holds {header.ntotal} vectors but its metadata lists {metadata.count} "
            "(the two files are out of step)",
            _REBUILD_HINT,
        )
    minimum = _minimum_size(metadata.index_type, header.dimension, header.ntotal, metadata.index_params)
    if header.file_size < minimum:
        raise IndexFileError(
            f"index file {path} is truncated ({header.file_size} bytes, needs at least {minimum})", _REBUILD_HINT
        )
    if metadata.index_type == "flat" and header.file_size != minimum:
        raise IndexFileError(
            f"index file {path} has {header.file_size} bytes, expected {minimum} for {header.ntotal} "
            f"{header.dimension}-d vectors",
            _REBUILD_HINT,
        )


def _minimum_size(index_type: str, dimension: int, ntotal: int, params: dict) -> int:
    """Smallest possible file for this many vectors: the stored codes alone (exact for flat)."""
    if index_type == "flat":
        return HEADER_SIZE + 8 + ntotal * dimension * 4  # header, vector length, float32 codes
    if index_type == "hnsw":
        return HEADER_SIZE + ntotal * dimension * 4
    if params.get("on_disk"):  # the codes live in the .ivfdata file beside it (daml_cli.index.ondisk)
        return HEADER_SIZE
    m, nbits = int(params.get("m", 1)), int(params.get("nbits", 8))
    return HEADER_SIZE + ntotal * ((m * nbits + 7) // 8 + 8)  # PQ codes plus int64 ids

"""`IndexMetadata`: the JSON sidecar (``<index path>.json``) that makes a FAISS file meaningful.

A FAISS file only holds vectors; the sidecar says which images they are (paths, labels, root), which model
produced them (checkpoint and its SHA-256, preprocessing) and how the index was built and is searched
(type and parameters). It is validated strictly on read so a stale or hand-edited file fails loudly.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from daml_cli import __version__
from daml_cli.errors import IndexFileError
from daml_cli.safety.terminal import quote

FORMAT_VERSION = 1
INDEX_TYPES: tuple[str, ...] = ("flat", "ivfpq", "hnsw")
METRICS: tuple[str, ...] = ("l2",)
SIDECAR_SUFFIX = ".json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REBUILD_HINT = "rebuild it with `daml index build EMB.npz --out INDEX`"


def sidecar_path(index_path: Path | str) -> Path:
    """The JSON file beside an artefact: its path plus ``.json``, appended, never substituted.

    ``gallery.faiss`` -> ``gallery.faiss.json`` (index metadata), ``model.onnx`` -> ``model.onnx.json`` (export).
    """
    index_path = Path(index_path)
    return index_path.with_name(index_path.name + SIDECAR_SUFFIX)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class IndexMetadata:
    """Everything about a gallery index except the vectors themselves.

    `paths[i]` and `labels[i]` describe FAISS id ``i``; `labels` is None when the gallery is unlabelled.
    `paths` are stored as given, relative to `root` when that is set. `class_names` maps a label (as a
    JSON string key) to its class name from the manifest; None in sidecars written before it existed.
    """

    index_type: str
    index_params: dict[str, Any]
    dimension: int
    count: int
    paths: list[str]
    labels: list[int] | None = None
    metric: str = "l2"
    root: str | None = None
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    class_names: dict[str, str] | None = None
    created: str = field(default_factory=_now_iso)
    daml_version: str = __version__
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        self._check_and_normalise("index metadata")

    # -- validation ---------------------------------------------------------------------------------------
    def _check_and_normalise(self, source: str) -> None:
        """Validate, then store the clean copy of `preprocessing` (numbers coerced as in the config).

        Runs once, when the metadata is built or read, so that `validate` itself changes nothing.
        """
        self.validate(source)
        if self.preprocessing:
            self.preprocessing = self._checked_preprocessing(source)

    def _checked_preprocessing(self, source: str) -> dict[str, Any]:
        """The clean copy `config.ranges.check_preprocessing` makes of `preprocessing`; IndexFileError if bad."""
        from daml_cli.config.ranges import check_preprocessing

        return check_preprocessing(self.preprocessing, source, IndexFileError, complete=False)

    def validate(self, source: str = "index metadata") -> None:
        """Raise IndexFileError naming the first field that is missing, mistyped or inconsistent; no field changes."""

        def fail(message: str) -> None:
            raise IndexFileError(f"{source}: {message}", _REBUILD_HINT)

        if not _is_int(self.format_version) or self.format_version != FORMAT_VERSION:
            fail(f"unsupported format_version {quote(self.format_version)} (this daml reads {FORMAT_VERSION})")
        if self.index_type not in INDEX_TYPES:
            fail(f"index_type must be one of {', '.join(INDEX_TYPES)}, got {quote(self.index_type)}")
        if not isinstance(self.index_params, dict) or not all(
            isinstance(k, str) and (_is_int(v) or isinstance(v, (float, str))) for k, v in self.index_params.items()
        ):
            fail("index_params must map names to numbers or strings")
        if not _is_int(self.dimension) or self.dimension < 1:
            fail(f"dimension must be a positive integer, got {quote(self.dimension)}")
        if self.metric not in METRICS:
            fail(f"metric must be one of {', '.join(METRICS)}, got {quote(self.metric)}")
        if not _is_int(self.count) or self.count < 0:
            fail(f"count must be a non-negative integer, got {quote(self.count)}")
        if not isinstance(self.paths, list) or not all(isinstance(p, str) for p in self.paths):
            fail("paths must be a list of strings")
        if len(self.paths) != self.count:
            fail(f"has {len(self.paths)} paths but count is {self.count}")
        if self.labels is not None:
            if not isinstance(self.labels, list) or not all(_is_int(v) for v in self.labels):
                fail("labels must be a list of integers or null")
            if len(self.labels) != self.count:
                fail(f"has {len(self.labels)} labels but count is {self.count}")
        for name in ("root", "checkpoint", "created", "daml_version"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                fail(f"{name} must be a string or null, got {type(value).__name__}")
        if not isinstance(self.created, str) or not isinstance(self.daml_version, str):
            fail("created and daml_version must be strings")
        if self.checkpoint_sha256 is not None and (
            not isinstance(self.checkpoint_sha256, str) or not _SHA256.match(self.checkpoint_sha256)
        ):
            fail("checkpoint_sha256 must be 64 lowercase hex digits or null")
        if not isinstance(self.preprocessing, dict):
            fail("preprocessing must be an object")
        if self.preprocessing:
            self._checked_preprocessing(source)
        if self.class_names is not None and not (
            isinstance(self.class_names, dict)
            and all(isinstance(k, str) and k.lstrip("-").isdigit() and isinstance(v, str) for k, v in self.class_names.items())
        ):
            fail("class_names must map labels (as strings) to class names, or be null")

    def names_by_label(self) -> dict[int, str]:
        """Class names keyed by integer label (empty when the sidecar records none)."""
        return {int(label): name for label, name in (self.class_names or {}).items()}

    # -- serialisation ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; the long lists come last so the file's head stays readable."""
        data = asdict(self)
        ordered = {key: data[key] for key in data if key not in ("paths", "labels", "class_names")}
        ordered["class_names"] = data["class_names"]
        ordered["paths"] = data["paths"]
        ordered["labels"] = data["labels"]
        return ordered

    def to_json(self) -> str:
        self.validate()
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "index metadata") -> IndexMetadata:
        """Build from parsed JSON, refusing missing or unknown keys with a message that names them."""
        if not isinstance(data, dict):
            raise IndexFileError(f"{source}: expected a JSON object, got {type(data).__name__}", _REBUILD_HINT)
        version = data.get("format_version")
        if version != FORMAT_VERSION or not _is_int(version):
            raise IndexFileError(
                f"{source}: unsupported format_version {quote(version)} (this daml reads {FORMAT_VERSION})",
                _REBUILD_HINT,
            )
        known = set(cls.__dataclass_fields__)
        required = {"index_type", "index_params", "dimension", "count", "paths", "labels", "metric"}
        missing = sorted(required - set(data))
        unknown = sorted(set(data) - known)
        if missing:
            raise IndexFileError(f"{source}: missing key(s) {', '.join(missing)}", _REBUILD_HINT)
        if unknown:
            raise IndexFileError(f"{source}: unknown key(s) {', '.join(quote(k) for k in unknown[:5])}", _REBUILD_HINT)
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name in data:
                values[spec.name] = data[spec.name]
            elif spec.default is not MISSING:
                values[spec.name] = spec.default
            else:
                values[spec.name] = spec.default_factory()  # type: ignore[misc]
        metadata = cls.__new__(cls)  # bypass __post_init__ so validation can name the file
        metadata.__dict__.update(values)
        metadata._check_and_normalise(source)
        return metadata

    @classmethod
    def from_json(cls, text: str, source: str = "index metadata") -> IndexMetadata:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise IndexFileError(
                f"{source} is not valid JSON ({error.msg} at line {error.lineno})", _REBUILD_HINT
            ) from error
        return cls.from_dict(data, source)

    @classmethod
    def read(cls, index_path: Path | str) -> IndexMetadata:
        """Read and validate the sidecar of `index_path`."""
        from daml_cli.safety.files import require_regular_file

        path = sidecar_path(index_path)
        if not path.exists():
            raise IndexFileError(
                f"metadata file {path} is missing (the index is unusable without its paths and labels)",
                _REBUILD_HINT,
            )
        require_regular_file(path, "metadata file", IndexFileError)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise IndexFileError(f"metadata file {path} is not UTF-8 text", _REBUILD_HINT) from error
        except OSError as error:
            raise IndexFileError(f"cannot read metadata file {path}: {error.strerror}") from error
        return cls.from_json(text, f"metadata file {path}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

"""File checksums: sha256 where published, md5 where that is all there is."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 4 * 1024 * 1024


def file_digest(path: Path | str, algorithm: str, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hex digest of the whole file at `path` with hashlib `algorithm` ('sha256', 'md5').

    `on_bytes(n)` is called after each chunk of n bytes (for a progress bar).
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.hexdigest()


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of the file at `path`: the one digest used for manifests, checkpoints and exported models."""
    return file_digest(path, "sha256")


@dataclass(frozen=True)
class ChecksumResult:
    """Outcome of comparing a file with its published checksum."""

    algorithm: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.actual.lower() == self.expected.lower()

    def describe(self) -> str:
        return f"{self.algorithm} is {self.actual}, expected {self.expected}"


def check_file(
    path: Path | str,
    sha256: str | None = None,
    md5: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> ChecksumResult | None:
    """Compare the file with `sha256` (preferred) or `md5`; None when neither is known."""
    if sha256:
        return ChecksumResult("sha256", sha256, file_digest(path, "sha256", on_bytes))
    if md5:
        return ChecksumResult("md5", md5, file_digest(path, "md5", on_bytes))
    return None

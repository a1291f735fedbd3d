"""Access to FAISS itself: the lazy import with an install hint, and keeping its C++ prints off stdout.

Both `store` and `ondisk` need these; they live here so that neither module imports the other for them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from daml_cli.errors import DamlError


def import_faiss() -> Any:
    """Import FAISS or raise a DamlError saying how to install it."""
    try:
        import faiss
    except ImportError as error:
        raise DamlError("FAISS is not installed", "pip install faiss-cpu (or faiss-gpu on CUDA machines)") from error
    return faiss


@contextlib.contextmanager
def faiss_prints_to_stderr() -> Iterator[None]:
    """Send what FAISS's C++ code prints on stdout (on-disk list messages) to stderr meanwhile.

    Keeps stdout clean for ``--json`` output; works at the file-descriptor level, where printf writes.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)

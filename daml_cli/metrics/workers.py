"""Threads for the CPU k-NN: several workers, each with a single-threaded BLAS product.

Numpy's BLAS keeps its own threads spinning between calls, which starves any numpy work done between two
products on the same cores. Running the block products on ``workers`` Python threads (numpy releases the
GIL) with BLAS limited to one thread each keeps every core on either a product or the comparisons around it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

MAX_WORKERS = 8
Item = TypeVar("Item")


def default_workers() -> int:
    """One worker per CPU thread torch uses, at most ``MAX_WORKERS`` and the CPU count; 1 without
    ``threadpoolctl`` (BLAS could not be limited to one thread per worker)."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return 1
    return max(1, min(MAX_WORKERS, torch.get_num_threads(), os.cpu_count() or 1))


@contextlib.contextmanager
def single_threaded_blas(workers: int) -> Iterator[None]:
    """With several workers, each BLAS call runs on one thread (the workers are the parallelism)."""
    if workers <= 1:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_all(job: Callable[[Item], None], items: Iterable[Item], workers: int) -> None:
    """``job(item)`` for every item, in order on this thread when ``workers`` is 1, else on a pool of
    ``workers`` threads; returns once all are done (an exception in a job is raised here)."""
    if workers <= 1:
        for item in items:
            job(item)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(job, items))
